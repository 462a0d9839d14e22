"""Load exchanges and settlement cycles from the shipped reference CSVs (upsert on MIC)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.reference import Exchange, SettlementCycle


def seed_reference(session: Session, folder: Path) -> int:
    """Upsert exchanges.csv and settlement_cycles.csv from `folder`; returns rows touched."""
    n = 0
    with (folder / "exchanges.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            ex = session.get(Exchange, row["mic"]) or Exchange(mic=row["mic"])
            ex.name, ex.country, ex.timezone = row["name"], row["country"], row["timezone"]
            ex.calendar, ex.currency = row["calendar"], row["currency"]
            session.add(ex)
            n += 1
    session.flush()
    existing = {(c.mic, c.effective_from): c for c in session.scalars(select(SettlementCycle))}
    with (folder / "settlement_cycles.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["mic"], date.fromisoformat(row["effective_from"]))
            cyc = existing.get(key) or SettlementCycle(mic=key[0], effective_from=key[1])
            cyc.days = int(row["days"])
            session.add(cyc)
            n += 1
    return n
