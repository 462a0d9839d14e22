"""Import daily closing prices, upserted on (`symbol`, `date`). Closes are in the security's currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.imports.upsert import chunks, upsert
from engine.store.market import PriceBar
from engine.store.reference import Security

REQUIRED = ("symbol", "date", "close")
OPTIONAL = ("volume", "currency")
SOURCE = "import"


@dataclass
class PriceRow:
    security_id: int
    date: date
    fields: dict[str, Any]


@dataclass
class Plan:
    rows: list[PriceRow] = field(default_factory=list)


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row; the optional currency column must match the security's currency."""
    securities = {
        s: (i, c) for s, i, c in session.execute(select(Security.symbol, Security.id, Security.currency))
    }
    seen = FirstSeen("price")
    plan = Plan()
    for row in table.rows:
        cells = Cells(table, row, problems)
        symbol = cells.required("symbol", parse.text(32))
        on = cells.required("date", parse.iso_date)
        fields: dict[str, Any] = {"close": cells.required("close", lambda v: parse.positive(v, parse.PRICE))}
        cells.put(fields, "volume", parse.integer)
        currency = cells.optional("currency", parse.currency)
        if symbol is None:
            continue
        if symbol not in securities:
            cells.problem("symbol", f"unknown security {symbol!r}")
            continue
        security_id, own = securities[symbol]
        if currency is not None and currency != own:
            cells.problem("currency", f"currency {currency!r} differs from {symbol}'s currency {own!r}")
        if on is not None and seen.claim(cells, "date", (symbol, on), f"{symbol} on {on.isoformat()}"):
            plan.rows.append(PriceRow(security_id, on, fields))
    return plan


def write(session: Session, plan: Plan, source: str = SOURCE) -> Counts:
    """Upsert bars; a changed bar takes `source` (the import) as its source, an unchanged one keeps its own."""
    stored: dict[tuple[int, date], PriceBar] = {}
    if plan.rows:
        first, last = min(r.date for r in plan.rows), max(r.date for r in plan.rows)
        for batch in chunks(sorted({r.security_id for r in plan.rows})):
            query = select(PriceBar).where(
                PriceBar.security_id.in_(batch), PriceBar.date >= first, PriceBar.date <= last
            )
            stored.update({(p.security_id, p.date): p for p in session.scalars(query)})
    counts = Counts()
    for item in plan.rows:
        key = (item.security_id, item.date)
        fields = {"security_id": item.security_id, "date": item.date, **item.fields}
        bar, outcome = upsert(session, stored.get(key), PriceBar, fields)
        if outcome is not Outcome.UNCHANGED:
            bar.source = source
        counts.add(outcome)
    return counts


KIND = Kind("prices", REQUIRED, OPTIONAL, check, write)
