"""Import cash balances, upserted on (`account`, `currency`). Amounts may be negative (overdrafts,
purchases awaiting settlement)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind
from engine.imports.seen import FirstSeen
from engine.imports.upsert import load_where_in, upsert
from engine.store.accounts import Account
from engine.store.positions import CashBalance

REQUIRED = ("account", "currency", "settled")
OPTIONAL = ("unsettled",)


@dataclass
class CashRow:
    account_id: int
    currency: str
    fields: dict[str, Any]


@dataclass
class Plan:
    rows: list[CashRow] = field(default_factory=list)


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row and resolve its account."""
    accounts = {k: v for k, v in session.execute(select(Account.code, Account.id))}
    seen = FirstSeen("balance")
    plan = Plan()
    for row in table.rows:
        cells = Cells(table, row, problems)
        account = cells.required("account", parse.text(32))
        currency = cells.required("currency", parse.currency)
        fields: dict[str, Any] = {
            "settled": cells.required("settled", lambda v: parse.decimal(v, parse.AMOUNT))
        }
        cells.put(fields, "unsettled", lambda v: parse.decimal(v, parse.AMOUNT), default=Decimal(0))
        if account is not None and account not in accounts:
            cells.problem("account", f"unknown account {account!r}")
        if account is None or currency is None:
            continue
        seen.claim(cells, "currency", (account, currency), f"{currency!r} in account {account!r}")
        if account in accounts:
            plan.rows.append(CashRow(accounts[account], currency, fields))
    return plan


def write(session: Session, plan: Plan) -> Counts:
    stored = {
        (c.account_id, c.currency): c
        for c in load_where_in(
            session, CashBalance, CashBalance.account_id, [r.account_id for r in plan.rows]
        )
    }
    counts = Counts()
    for item in plan.rows:
        fields = {"account_id": item.account_id, "currency": item.currency, **item.fields}
        _, outcome = upsert(session, stored.get((item.account_id, item.currency)), CashBalance, fields)
        counts.add(outcome)
    return counts


KIND = Kind("cash", REQUIRED, OPTIONAL, check, write)
