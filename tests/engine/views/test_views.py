"""The desktop's read models run headless: numbers checked against the hand-made minibook
(tests/engine/compliance/minibook.py), not against the functions' own output."""

from __future__ import annotations

from datetime import date

import pytest

from engine.audit.chain import record
from engine.store.database import Database
from engine.views import audit, holdings, snapshot
from tests.engine.compliance.minibook import AS_OF, build_minibook


@pytest.fixture
def book(database: Database) -> Database:
    build_minibook(database)
    return database


def test_positions_value_weights_and_gains_by_hand(book: Database) -> None:
    snap = snapshot.load_snapshot(book)
    assert snap.as_of == AS_OF
    pos = holdings.positions(snap)
    u1 = pos[pos["account"] == "U1"].set_index("symbol")
    # U1: AAA 100 @ 100, AAB 60 @ 100, 4,000 USD cash: 20,000 USD in all.
    assert u1.loc["AAA", "mv_base"] == pytest.approx(10_000)
    assert u1.loc["AAB", "mv_base"] == pytest.approx(6_000)
    assert u1.loc["CASH USD", "mv_base"] == pytest.approx(4_000)
    assert u1.loc["AAA", "weight"] == pytest.approx(0.5)
    assert u1.loc["AAB", "weight"] == pytest.approx(0.3)
    # L1 AAA 100 x (100 - 80), bought 2024-03-01: long. L2 AAB 50 x (100 - 120), bought 2025-01-02: long.
    # L3 AAB 10 x (100 - 100), bought 2026-10-20: short, no gain.
    assert u1.loc["AAA", "unrealized_lt"] == pytest.approx(2_000)
    assert u1.loc["AAB", "unrealized_lt"] == pytest.approx(-1_000)
    assert u1.loc["AAB", "unrealized_st"] == pytest.approx(0)
    accts = holdings.accounts(snap, pos).set_index("code")
    assert accts.loc["U1", "value_base"] == pytest.approx(20_000)
    assert accts.loc["U2", "value_base"] == pytest.approx(10_000)
    # G1 is in GBP: CCC 500 @ 10 GBP plus 1,000 GBP cash.
    assert accts.loc["G1", "value_base"] == pytest.approx(6_000)
    assert accts.loc["U1", "unrealized_lt"] == pytest.approx(1_000)


def test_long_term_is_more_than_one_year() -> None:
    import pandas as pd

    acquired = pd.Series(pd.to_datetime(["2025-10-30", "2025-10-29", "2025-10-31"]))
    # On 2026-10-30 a lot bought 2025-10-30 has been held exactly one year: still short-term.
    assert list(holdings.long_term_mask(acquired, date(2026, 10, 30))) == [False, True, False]


def test_audit_trail_newest_first_with_short_hashes(book: Database) -> None:
    with book.transaction() as s:
        record(s, "co1", "test.first", "thing", 1)
        record(s, "co2", "test.second", "thing", 2, reason="why")
    frame = audit.audit_entries(book)
    assert list(frame["action"][:2]) == ["test.second", "test.first"]
    assert list(frame["username"][:2]) == ["co2", "co1"]
    assert frame["reason"].iloc[0] == "why"
    assert frame["hash"].str.len().max() == 12
