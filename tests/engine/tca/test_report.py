"""The best-execution report on SQLite and PostgreSQL, against hand computations (tests/engine/tca/book.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.access.users import create_user
from engine.errors import PermissionDenied
from engine.store.database import Database
from engine.tca.report import tca_report
from tests.engine.tca.book import DAY, build


@pytest.fixture
def book(database: Database) -> Database:
    build(database)
    with database.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "co1", "Compliance One", "compliance", "compliance password 1")
        create_user(s, "ad1", "ops1", "Ops One", "operations", "ops password 1")
    return database


def test_per_order_broker_and_trader(book: Database) -> None:
    with book.session() as s:
        doc = tca_report(s, "co1", DAY, DAY)
    rows = {r["cl_ord_id"]: r for r in doc["orders"]}
    assert list(rows) == ["O1", "O2", "O5"]  # O3 is a child (its block counts), O4 never went out
    o1 = rows["O1"]
    # avg (100*100.20 + 200*100.50)/300 = 100.40; shortfall 300*0.40 = 120 USD = 40 bps of 30,000.
    assert (o1["avg_px"], o1["execution_cost"], o1["opportunity_cost"]) == (
        D("100.4"),
        D("120.00"),
        D("0.00"),
    )
    assert (o1["shortfall"], o1["shortfall_base"], o1["shortfall_bps"]) == (
        D("120.00"),
        D("120.00"),
        D("40.00"),
    )
    # Interval VWAP of the prints from the first to the last fill only:
    # (100.10*300 + 100.40*100 + 100.30*200) / 600 = 60,130 / 600 = 100.216667; (100.40/100.216667 - 1) bps.
    assert o1["interval_vwap"] == D("100.216667") and o1["slippage_vwap_bps"] == D("18.29")
    o2 = rows["O2"]
    # Sell 1,000: 400 @ 99.90 vs 100 is 40 GBP; 600 unsold, the market fell to 99: 600 GBP more.
    assert (o2["execution_cost"], o2["opportunity_cost"], o2["shortfall"]) == (
        D("40.00"),
        D("600.00"),
        D("640.00"),
    )
    assert (o2["shortfall_base"], o2["shortfall_bps"], o2["fill_rate"]) == (D("800.00"), D("64.00"), D("0.4"))
    assert o2["slippage_vwap_bps"] == D("5.00")  # -(99.90 - 99.95)/99.95 = 5.0025 bps
    assert rows["O5"]["missing"] == ["arrival price", "market prints"] and rows["O5"]["shortfall"] is None
    brokers = {g["broker"]: g for g in doc["by_broker"]}
    assert brokers["SIM"]["orders"] == 2 and brokers["SIM"]["unmeasured"] == 1
    assert brokers["SIM"]["notional"] == D("35120.00")  # 30,120 + 5,000 (O5 is counted, not measured)
    assert (brokers["SIM"]["shortfall"], brokers["SIM"]["shortfall_bps"]) == (D("120.00"), D("40.00"))
    assert (brokers["BRK2"]["paper_notional"], brokers["BRK2"]["shortfall_bps"]) == (
        D("125000.00"),
        D("64.00"),
    )
    # Total: 920 USD over 155,000 USD of paper = 59.354... bps.
    assert (doc["total"]["shortfall"], doc["total"]["shortfall_bps"]) == (D("920.00"), D("59.35"))
    assert doc["total"]["fill_rate"] == D("0.5161")  # (30,000 + 400*100*1.25) / 155,000
    assert [g["trader"] for g in doc["by_trader"]] == ["tr1", "tr2"]
    with book.session() as s:
        only = tca_report(s, "co1", DAY, DAY, broker="BRK2")
        assert [r["cl_ord_id"] for r in only["orders"]] == ["O2"]
        eur = tca_report(s, "co1", DAY, DAY, trader="tr2", currency="EUR")
    assert eur["orders"][0]["missing"] == ["FX rate GBP->EUR"] and eur["total"]["unmeasured"] == 1
    # Operations may not read it (tca.read: compliance, admin, trader).
    with book.session() as s, pytest.raises(PermissionDenied):
        tca_report(s, "ops1", DAY, DAY)
