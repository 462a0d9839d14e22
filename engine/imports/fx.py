"""Import daily FX rates, upserted on (`base`, `quote`, `date`): units of quote per one unit of base."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.imports.upsert import upsert
from engine.store.market import FxRate

REQUIRED = ("base", "quote", "date", "rate")
OPTIONAL = ()
SOURCE = "import"


@dataclass
class FxRow:
    base: str
    quote: str
    date: date
    rate: Decimal


@dataclass
class Plan:
    rows: list[FxRow] = field(default_factory=list)


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row; a pair needs two different currencies and a rate above zero."""
    seen = FirstSeen("rate")
    plan = Plan()
    for row in table.rows:
        cells = Cells(table, row, problems)
        base = cells.required("base", parse.currency)
        quote = cells.required("quote", parse.currency)
        on = cells.required("date", parse.iso_date)
        rate = cells.required("rate", parse.positive)
        if base is not None and base == quote:
            cells.problem("quote", f"quote {quote!r} is the same currency as base {base!r}")
            continue
        if base is None or quote is None or on is None:
            continue
        if (
            seen.claim(cells, "date", (base, quote, on), f"{base}/{quote} on {on.isoformat()}")
            and rate is not None
        ):
            plan.rows.append(FxRow(base, quote, on, rate))
    return plan


def write(session: Session, plan: Plan) -> Counts:
    """Upsert rates; a changed rate takes the import as its source."""
    stored: dict[tuple[str, str, date], FxRate] = {}
    if plan.rows:
        first, last = min(r.date for r in plan.rows), max(r.date for r in plan.rows)
        query = select(FxRate).where(FxRate.date >= first, FxRate.date <= last)
        stored = {(r.base, r.quote, r.date): r for r in session.scalars(query)}
    counts = Counts()
    for item in plan.rows:
        fields = {"base": item.base, "quote": item.quote, "date": item.date, "rate": item.rate}
        fx, outcome = upsert(session, stored.get((item.base, item.quote, item.date)), FxRate, fields)
        if outcome is not Outcome.UNCHANGED:
            fx.source = SOURCE
        counts.add(outcome)
    return counts


KIND = Kind("fx", REQUIRED, OPTIONAL, check, write)
