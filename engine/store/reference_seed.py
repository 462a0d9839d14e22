"""The one reference-data loader: exchanges and settlement cycles from the shipped CSVs.

`read_reference(folder)` parses and checks both files (one ConfigurationError naming file, row,
field and reason); `seed_reference(session, folder)` upserts them into the store (on MIC, and on
MIC plus effective date). The store, the demo book and the broker simulator's market hours all
read the reference through here; nobody else opens these files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ConfigurationError
from engine.store.reference import Exchange, SettlementCycle

EXCHANGES = "exchanges.csv"
CYCLES = "settlement_cycles.csv"


@dataclass(frozen=True, slots=True)
class ExchangeRow:
    """One exchange as shipped: ISO 10383 MIC, name, country, IANA zone, calendar, currency."""

    mic: str
    name: str
    country: str
    timezone: str
    calendar: str
    currency: str


@dataclass(frozen=True, slots=True)
class CycleRow:
    """T+`days` at `mic` in force from `effective_from`."""

    mic: str
    effective_from: date
    days: int


@dataclass(frozen=True, slots=True)
class ReferenceData:
    exchanges: tuple[ExchangeRow, ...]
    cycles: tuple[CycleRow, ...]


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigurationError(f"{path}: missing column(s) {', '.join(missing)}")
            return [(n, row) for n, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read reference data ({exc.strerror or exc})") from None


def _exchange(path: Path, n: int, row: dict[str, str]) -> ExchangeRow:
    def bad(field: str, why: str) -> ConfigurationError:
        return ConfigurationError(f"{path} row {n}, {field}: {why}")

    mic = (row["mic"] or "").strip()
    if len(mic) != 4 or not mic.isalnum():
        raise bad("mic", f"{mic!r} is not a four-character MIC")
    try:
        ZoneInfo(row["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise bad("timezone", f"unknown time zone {row['timezone']!r}") from None
    if len(row["country"]) != 2 or len(row["currency"]) != 3:
        raise bad("country/currency", "expected a two-letter country and a three-letter currency")
    return ExchangeRow(mic, row["name"], row["country"], row["timezone"], row["calendar"], row["currency"])


def _cycle(path: Path, n: int, row: dict[str, str], mics: set[str]) -> CycleRow:
    if row["mic"] not in mics:
        raise ConfigurationError(f"{path} row {n}, mic: {row['mic']!r} is not in {EXCHANGES}")
    try:
        effective = date.fromisoformat(row["effective_from"])
    except ValueError:
        raise ConfigurationError(
            f"{path} row {n}, effective_from: {row['effective_from']!r} is not a YYYY-MM-DD date"
        ) from None
    days = row["days"]
    if not days.isdigit() or not 0 <= int(days) <= 10:
        raise ConfigurationError(f"{path} row {n}, days: {days!r} is not a cycle of 0 to 10 business days")
    return CycleRow(row["mic"], effective, int(days))


def read_reference(folder: Path) -> ReferenceData:
    """Parse and check exchanges.csv and settlement_cycles.csv in `folder` (nothing is written)."""
    ex_path, cy_path = folder / EXCHANGES, folder / CYCLES
    exchanges = [_exchange(ex_path, n, r) for n, r in _rows(ex_path, tuple(ExchangeRow.__slots__))]
    mics = {e.mic for e in exchanges}
    if len(mics) != len(exchanges):
        raise ConfigurationError(f"{ex_path}: a MIC is listed twice")
    cycles = [_cycle(cy_path, n, r, mics) for n, r in _rows(cy_path, ("mic", "effective_from", "days"))]
    if len({(c.mic, c.effective_from) for c in cycles}) != len(cycles):
        raise ConfigurationError(f"{cy_path}: a (mic, effective_from) pair is listed twice")
    return ReferenceData(tuple(exchanges), tuple(cycles))


def seed_reference(session: Session, folder: Path) -> int:
    """Upsert the reference data read from `folder` into the store; returns rows touched."""
    data = read_reference(folder)
    for e in data.exchanges:
        ex = session.get(Exchange, e.mic) or Exchange(mic=e.mic)
        ex.name, ex.country, ex.timezone = e.name, e.country, e.timezone
        ex.calendar, ex.currency = e.calendar, e.currency
        session.add(ex)
    session.flush()
    existing = {(c.mic, c.effective_from): c for c in session.scalars(select(SettlementCycle))}
    for c in data.cycles:
        cyc = existing.get((c.mic, c.effective_from)) or SettlementCycle(
            mic=c.mic, effective_from=c.effective_from
        )
        cyc.days = c.days
        session.add(cyc)
    return len(data.exchanges) + len(data.cycles)
