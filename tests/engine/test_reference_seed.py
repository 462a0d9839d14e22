"""The one reference loader: the shipped CSVs as the store and the broker simulator see them."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

import resources
from connectors.broker_sim.markets import SimClock, market_clock
from engine.errors import ConfigurationError
from engine.store.database import Database
from engine.store.reference import Exchange, SettlementCycle
from engine.store.reference_seed import read_reference, seed_reference

SHIPPED = resources.path("reference")


def test_the_store_holds_exactly_the_shipped_rows(database: Database) -> None:
    ex = pd.read_csv(SHIPPED / "exchanges.csv", keep_default_na=False)
    cy = pd.read_csv(SHIPPED / "settlement_cycles.csv", keep_default_na=False)
    with database.transaction() as s:
        touched = seed_reference(s, SHIPPED)  # again on a seeded book: an upsert, no duplicates
    assert touched == len(ex) + len(cy)
    with database.session() as s:
        stored = {
            (e.mic, e.name, e.country, e.timezone, e.calendar, e.currency)
            for e in s.scalars(select(Exchange))
        }
        cycles = {(c.mic, c.effective_from, c.days) for c in s.scalars(select(SettlementCycle))}
    assert stored == set(
        map(tuple, ex[["mic", "name", "country", "timezone", "calendar", "currency"]].to_numpy())
    )
    assert cycles == {
        (m, date.fromisoformat(d), int(n)) for m, d, n in cy[["mic", "effective_from", "days"]].to_numpy()
    }
    # DOMAIN.md: US T+1 since 28 May 2024.
    assert ("XNYS", date(2024, 5, 28), 1) in cycles


def test_the_broker_simulator_reads_the_same_exchanges() -> None:
    clock = market_clock(SimClock())
    assert set(clock.markets) == {e.mic for e in read_reference(SHIPPED).exchanges}
    assert clock.market("XTKS").timezone == "Asia/Tokyo"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "ref"
    shutil.copytree(SHIPPED, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("exchanges.csv", "America/New_York,XNYS", "America/Nowhere,XNYS", r"exchanges.csv row 2, timezone"),
        (
            "settlement_cycles.csv",
            "XNYS,2024-05-28,1",
            "XNYS,2024-05-28,-1",
            r"settlement_cycles.csv row 3, days",
        ),
        ("settlement_cycles.csv", "XNYS,2024-05-28,1", "XNYS,28/05/2024,1", r"row 3, effective_from"),
        ("settlement_cycles.csv", "XNYS,2024-05-28,1", "XXXX,2024-05-28,1", r"row 3, mic: 'XXXX'"),
    ],
)
def test_a_bad_reference_file_is_one_error_and_writes_nothing(
    sqlite_database: Database, tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    folder = _copy(tmp_path)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with sqlite_database.session() as s:
        before = s.scalars(select(SettlementCycle.days).where(SettlementCycle.mic == "XNYS")).all()
    with pytest.raises(ConfigurationError, match=message), sqlite_database.transaction() as s:
        seed_reference(s, folder)
    with sqlite_database.session() as s:
        assert s.scalars(select(SettlementCycle.days).where(SettlementCycle.mic == "XNYS")).all() == before


def test_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read reference data"):
        read_reference(tmp_path / "nowhere")


def test_the_demo_universe_lists_venues_as_the_reference_data_does() -> None:
    """The demo's venue table keeps only what is demo-specific (counts, tickers, prices); where
    it names a market's country and currency they are the reference's, so there is one source."""
    from engine.demo.universe import EQUITY_VENUES, build_universe

    ref = {e.mic: e for e in read_reference(SHIPPED).exchanges}
    for v in EQUITY_VENUES:
        assert (v.country, v.currency) == (ref[v.mic].country, ref[v.mic].currency), v.mic
    assert set(build_universe()["mic"]) <= set(ref)
