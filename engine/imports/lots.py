"""Import open tax lots, upserted on (`account`, `lot_id`).

A lot's fx_rate (account base currency per unit of the security's currency, at purchase) is taken
from the file, or else from the FX table on the acquisition date; a lot with neither is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.fxlookup import CROSS_VIA, DayRates
from engine.imports.kind import Counts, Kind
from engine.imports.seen import FirstSeen
from engine.imports.upsert import load_where_in, upsert
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security

REQUIRED = ("account", "lot_id", "symbol", "quantity", "unit_cost", "acquired")
OPTIONAL = ("fx_rate",)


@dataclass
class LotRow:
    """One valid row, keyed by account id and lot reference."""

    account_id: int
    lot_ref: str
    fields: dict[str, Any]


@dataclass
class Plan:
    rows: list[LotRow] = field(default_factory=list)


@dataclass
class _Pending:
    """A lot whose fx_rate must come from the FX table."""

    cells: Cells
    item: LotRow
    currency: str
    base: str
    acquired: date


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row, resolve account and security, and find a purchase FX rate for each lot."""
    accounts = {
        code: (i, base)
        for code, i, base in session.execute(select(Account.code, Account.id, Account.base_currency))
    }
    securities = {
        s: (i, c) for s, i, c in session.execute(select(Security.symbol, Security.id, Security.currency))
    }
    seen = FirstSeen("lot")
    plan = Plan()
    pending: list[_Pending] = []
    for row in table.rows:
        cells = Cells(table, row, problems)
        account = cells.required("account", parse.text(32))
        lot_ref = cells.required("lot_id", parse.text(40))
        symbol = cells.required("symbol", parse.text(32))
        quantity = cells.required("quantity", lambda v: parse.positive(v, parse.QUANTITY))
        unit_cost = cells.required("unit_cost", lambda v: parse.non_negative(v, parse.PRICE))
        acquired = cells.required("acquired", parse.iso_date)
        fx_rate = cells.optional("fx_rate", parse.positive)
        if account is not None and account not in accounts:
            cells.problem("account", f"unknown account {account!r}")
        if symbol is not None and symbol not in securities:
            cells.problem("symbol", f"unknown security {symbol!r}")
        if account is not None and lot_ref is not None:
            seen.claim(cells, "lot_id", (account, lot_ref), f"{lot_ref!r} in account {account!r}")
        if account not in accounts or symbol not in securities:
            continue
        account_id, base = accounts[account]
        security_id, currency = securities[symbol]
        if fx_rate is not None and currency == base and fx_rate != 1:
            cells.problem(
                "fx_rate",
                f"fx_rate {cells.text('fx_rate')!r} must be 1: {symbol} and the account are both in {base}",
            )
        fields = {
            "security_id": security_id,
            "quantity": quantity,
            "unit_cost": unit_cost,
            "acquired": acquired,
        }
        item = LotRow(account_id, lot_ref or "", fields)
        fields["fx_rate"] = fx_rate if fx_rate is not None else (Decimal(1) if currency == base else None)
        if fields["fx_rate"] is None and acquired is not None and not cells.text("fx_rate"):
            pending.append(_Pending(cells, item, currency, base, acquired))
        plan.rows.append(item)
    _rates_from_table(session, pending)
    return plan


def _rates_from_table(session: Session, pending: list[_Pending]) -> None:
    fx = DayRates.load(session, {p.acquired for p in pending})
    for p in pending:
        rate = fx.rate(p.currency, p.base, p.acquired)
        if rate is None:
            p.cells.problem(
                "fx_rate",
                f"no fx_rate given and no {p.currency}->{p.base} rate on {p.acquired.isoformat()} in the FX table "
                f"(looked direct, inverse and through {' and '.join(CROSS_VIA)})",
            )
        p.item.fields["fx_rate"] = rate


def write(session: Session, plan: Plan) -> Counts:
    """Insert new lots and update changed ones; lots the file does not mention stay as they are."""
    stored = {
        (lot.account_id, lot.lot_ref): lot
        for lot in load_where_in(session, TaxLot, TaxLot.account_id, [r.account_id for r in plan.rows])
    }
    counts = Counts()
    for item in plan.rows:
        key = (item.account_id, item.lot_ref)
        fields = {"account_id": item.account_id, "lot_ref": item.lot_ref, **item.fields}
        _, outcome = upsert(session, stored.get(key), TaxLot, fields)
        counts.add(outcome)
    return counts


KIND = Kind("lots", REQUIRED, OPTIONAL, check, write)
