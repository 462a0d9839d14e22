"""The desk's fresh book (issue 18): lots read as integer texts and valued in numpy give the rows
the lot-by-lot path gives (`value_lots` -> `holdings.positions` / `holdings.accounts` on a
snapshot with its lots), on SQLite and PostgreSQL; hand-made numbers on the minibook; the read
returns exactly the stored doubles, and a value with more places than its column takes the
row-by-row read with the same figures."""

from __future__ import annotations

import logging
import threading
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

import resources
from engine.accounting.holding import last_long_acquisition
from engine.demo.build import build_demo_book
from engine.pricing import lot_columns
from engine.pricing.lot_columns import parse_ints, read_lot_columns, read_lot_rows
from engine.store.database import Database
from engine.views import book, book_values, holdings, snapshot
from tests.conftest import migrated
from tests.engine.compliance.minibook import build_minibook

FLOAT_COLUMNS = [
    "quantity", "price", "mv_local", "mv_base", "cost_base", "unrealized_st", "unrealized_lt", "lots", "target",
    "account_value", "weight", "drift",
]  # fmt: skip
TEXT = ["symbol", "name", "sector", "asset_class", "currency", "mic", "base_currency", "account"]
ACCOUNT_COLUMNS = [
    "value_base",
    "cash_base",
    "positions",
    "max_drift",
    "active_weight",
    "unrealized_st",
    "unrealized_lt",
]


def lot_path(database: Database) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Positions, account rows and lot totals the old way: every lot valued as a DataFrame row."""
    snap = snapshot.load_snapshot(database)
    pos = holdings.positions(snap)
    return pos, holdings.accounts(snap, pos), snap.lot_totals()


def assert_same_book(database: Database) -> book.BookFrames:
    frames = book.load_frames(database)
    pos, accts, totals = lot_path(database)
    got = frames.positions
    assert list(got.columns) == list(pos.columns)
    assert len(got) == len(pos)
    # the same rows in the same order: account, then market value (largest first)
    np.testing.assert_array_equal(got["account_id"], pos["account_id"])
    np.testing.assert_array_equal(got["security_id"], pos["security_id"])
    for col in FLOAT_COLUMNS:
        np.testing.assert_allclose(
            got[col].to_numpy(float), pos[col].to_numpy(float), rtol=1e-12, atol=1e-9, err_msg=col
        )
    for col in TEXT:
        assert isinstance(got[col].dtype, pd.CategoricalDtype), col
        assert got[col].astype(object).tolist() == pos[col].astype(object).tolist(), col
    assert got["account"].astype(str).tolist() == pos["account"].tolist()
    assert frames.accounts["account_id"].tolist() == accts["account_id"].tolist()
    pd.testing.assert_frame_equal(
        frames.accounts[ACCOUNT_COLUMNS],
        accts[ACCOUNT_COLUMNS].astype(float),
        check_exact=False,
        check_dtype=False,
        rtol=1e-12,
        atol=1e-9,
    )
    assert frames.accounts["out_of_band"].tolist() == accts["out_of_band"].tolist()
    lots = frames.snap.lot_totals()
    assert (
        lots[["account_id", "currency"]].values.tolist()
        == totals[["account_id", "currency"]].astype({"currency": str}).values.tolist()
    )
    np.testing.assert_allclose(lots["mv_local"], totals["mv_local"], rtol=1e-12)
    assert frames.snap.lots.empty
    return frames


def test_minibook_by_hand_and_as_the_lots_give_it(database: Database) -> None:
    build_minibook(database)
    frames = assert_same_book(database)
    pos = frames.positions
    u1 = pos[pos["account"] == "U1"].set_index("symbol")
    # AAB: 50 bought 2025-01-02 at 120 (long), 10 bought 2026-10-20 at 100 (short), price 100
    assert u1.loc["AAB", "quantity"] == 60
    assert u1.loc["AAB", "lots"] == 2
    assert u1.loc["AAB", "mv_base"] == pytest.approx(6_000)
    assert u1.loc["AAB", "unrealized_lt"] == pytest.approx(-1_000)
    assert u1.loc["AAB", "unrealized_st"] == pytest.approx(0)
    assert u1.loc["AAA", "unrealized_lt"] == pytest.approx(2_000)
    assert u1.loc["AAA", "weight"] == pytest.approx(0.5)
    accts = frames.accounts.set_index("code")
    assert accts.loc["U1", "value_base"] == pytest.approx(20_000)
    assert accts.loc["G1", "value_base"] == pytest.approx(6_000)  # 500 CCC at 10 GBP + 1,000 GBP
    assert accts.loc["U1", "unrealized_lt"] == pytest.approx(1_000)


@pytest.fixture
def demo(database: Database) -> Database:
    build_demo_book(database, resources.path("reference"), accounts=6, seed=5, today=date(2026, 11, 22))
    return database


def test_demo_book_as_the_lots_give_it_through_the_integer_texts(
    demo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rows(*_a: object, **_k: object) -> None:
        raise AssertionError("the row-by-row read was used")

    monkeypatch.setattr(lot_columns, "read_lot_rows", no_rows)
    frames = assert_same_book(demo)
    assert (frames.positions["unrealized_st"] != 0).any() and (frames.positions["unrealized_lt"] != 0).any()


def _sorted(cols: lot_columns.LotColumns) -> np.ndarray:
    block = np.column_stack(
        [cols.account_id, cols.security_id, cols.long_term, cols.quantity, cols.unit_cost, cols.fx_rate]
    ).astype(float)
    return block[np.lexsort(block.T[::-1])]


def test_the_texts_carry_the_stored_doubles_exactly(demo: Database) -> None:
    as_of = snapshot.load_snapshot(demo, with_lots=False).as_of
    assert as_of is not None
    cutoff = last_long_acquisition(as_of)
    with demo.session() as s:
        fast = read_lot_columns(s, cutoff)
        rows = read_lot_rows(s, cutoff)
        some = read_lot_columns(s, cutoff, [1, 2])
    assert len(fast) == len(rows) > 100
    np.testing.assert_array_equal(_sorted(fast), _sorted(rows))  # bit for bit, not approximately
    assert set(some.account_id.tolist()) == {1, 2} and len(some) < len(fast)


def test_a_value_with_more_places_than_its_column_is_read_row_by_row(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    build_demo_book(
        sqlite_database, resources.path("reference"), accounts=3, seed=5, today=date(2026, 11, 22)
    )
    with sqlite_database.transaction() as s:  # SQLite keeps NUMERIC as a double: 9 places stay
        s.execute(
            text("UPDATE tax_lots SET unit_cost = 12.345678912 WHERE id = (SELECT min(id) FROM tax_lots)")
        )
        stored = s.execute(text("SELECT unit_cost FROM tax_lots ORDER BY id LIMIT 1")).scalar_one()
    assert stored == 12.345678912
    with caplog.at_level(logging.INFO, logger=lot_columns.__name__):
        assert_same_book(sqlite_database)
    assert "1 of" in caplog.text and "row by row" in caplog.text


def test_parse_ints_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lot_columns, "PIECE", 5)
    values = [0, -7, 123456789012345, 42, 9, 1000000]
    assert parse_ints(",".join(map(str, values)), len(values)).tolist() == values
    assert parse_ints(None, 0).tolist() == []
    with pytest.raises(ValueError, match="parsed 5 integers for 6"):
        parse_ints("1,2,3,4,5", 6)
    with pytest.raises(ValueError, match="more integers"):
        parse_ints("1,2,3,4,5,6,7", 6)


def test_the_lots_are_read_on_their_own_thread_beside_the_snapshot(
    demo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lots' aggregate query (GIL released inside the driver) runs on a thread of its own
    while the snapshot's frames are built; the figures are the lot-by-lot path's."""
    threads: list[str] = []
    read = book.read_lots_as_of

    def traced(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(book, "read_lots_as_of", traced)
    frames = assert_same_book(demo)
    assert len(threads) == 1 and threads[0].startswith("lot-read")
    assert len(frames.accounts) == 6


def test_an_in_memory_book_reads_its_lots_on_the_same_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each thread's connection to an in-memory SQLite book is an empty database of its own."""
    database = migrated("sqlite://")
    build_minibook(database)
    threads: list[str] = []
    read = book.read_lots_as_of

    def traced(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(book, "read_lots_as_of", traced)
    assert not book.readable_from_another_thread(database)
    frames = assert_same_book(database)
    assert threads == [threading.current_thread().name]
    assert frames.accounts.set_index("code").loc["U1", "value_base"] == pytest.approx(20_000)
    database.dispose()


def test_positions_ordered_by_account_then_value_as_lexsort_orders_them() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    account = rng.integers(1, 300, n)
    value = rng.choice([0.0, -0.0, 5.0, 12.5, np.nan, -3.0], n)  # many ties, zeros, NaN
    value[::7] = rng.normal(size=len(value[::7]))
    got = book_values.by_account_then_value(account, value)
    np.testing.assert_array_equal(got, np.lexsort((-value, account)))
    big = np.array([2**61, 1, 2**61, 1])
    np.testing.assert_array_equal(
        book_values.by_account_then_value(big, np.array([1.0, 2.0, 3.0, 2.0])), [1, 3, 2, 0]
    )
    assert len(book_values.by_account_then_value(np.zeros(0, np.int64), np.zeros(0))) == 0
