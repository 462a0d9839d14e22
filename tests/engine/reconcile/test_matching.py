"""Settled-basis matching on a hand-made book, on SQLite and PostgreSQL: pending trades across
holidays in T+1 and T+2 markets, a split booked a day early by the custodian, and identifier
resolution that never matches an ADR to its ordinary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.tables import Booking
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.reconcile.match import BreakType
from engine.reconcile.run import reconcile
from engine.reconcile.securities import identifier_table, resolve
from engine.store.database import Database
from tests.engine.reconcile.minibook import IDS, build, statement

US, UK = "A000001", "A000002"


def _outcomes(
    database: Database, as_of: date
) -> dict[tuple[str, str], tuple[str, str, list[str], str | None]]:
    with database.transaction() as s:
        r = reconcile(s, as_of, run_by="olivia.ops").results
    return {
        (a, sym): (o, t, list(refs or []), e)
        for a, sym, o, t, refs, e in zip(
            r["account_code"], r["security_ref"], r["outcome"], r["break_type"], r["refs"], r["explanation"]
        )
    }


def _book(database: Database, account: str, symbol: str, side: Side, qty: int, on: date, ref: str) -> date:
    with database.transaction() as s:
        res = LedgerBooker().book(s, TradeFill(account, symbol, side, Decimal(qty), Decimal(10), on, ref))
        return res.settle_date


def test_pending_trades_across_holidays_in_t1_and_t2_markets_are_explained(database: Database) -> None:
    build(database)
    # XNYS is closed for Thanksgiving (Thu 2026-11-26): a T+1 trade on Wednesday settles on Friday.
    assert _book(database, US, "AAA", Side.BUY, 10, date(2026, 11, 25), "T-THANKS") == date(2026, 11, 27)
    # Both on Wed 2026-12-23: New York T+1 settles Thu 24th; London T+2 skips Christmas (Fri 25th)
    # and the Boxing Day holiday moved to Mon 28th (the 26th is a Saturday): Tue 29th.
    assert _book(database, US, "AAA", Side.BUY, 50, date(2026, 12, 23), "T-US-XMAS") == date(2026, 12, 24)
    assert _book(database, UK, "VODX.L", Side.SELL, 200, date(2026, 12, 23), "T-UK-XMAS") == date(
        2026, 12, 29
    )

    def lines(aaa: int, vod: int) -> list[tuple[str, str, str, int]]:
        return [(US, "ISIN", IDS["AAA"]["isin"], aaa), (US, "ISIN", IDS["BPX"]["isin"], 10),
                (UK, "ISIN", IDS["VODX.L"]["isin"], vod), (UK, "ISIN", IDS["BPX.L"]["isin"], 60)]  # fmt: skip

    # On the holiday the custodian still shows 100 settled: explained, naming the trade.
    statement(database, date(2026, 11, 26), lines(100, 500))
    got = _outcomes(database, date(2026, 11, 26))
    assert got[(US, "AAA")][:3] == ("explained", BreakType.PENDING_SETTLEMENT, ["T-THANKS"])
    assert "settles 2026-11-27" in got[(US, "AAA")][3]
    assert got[(UK, "VODX.L")][0] == "matched"
    # On the 24th the US buy has settled (the custodian shows it) while the UK sale has not.
    statement(database, date(2026, 12, 24), lines(160, 500))
    got = _outcomes(database, date(2026, 12, 24))
    assert got[(US, "AAA")][0] == "matched"
    assert got[(UK, "VODX.L")][:3] == ("explained", BreakType.PENDING_SETTLEMENT, ["T-UK-XMAS"])
    # Monday 28th is a London holiday: still pending, still explained, not a break.
    statement(database, date(2026, 12, 28), lines(160, 500))
    got = _outcomes(database, date(2026, 12, 28))
    assert got[(UK, "VODX.L")][:2] == ("explained", BreakType.PENDING_SETTLEMENT)
    assert all(v[0] != "break" for v in got.values())
    # On the 29th it has settled: the custodian's 300 matches; still showing 500 would be a break.
    statement(database, date(2026, 12, 29), lines(160, 300))
    assert _outcomes(database, date(2026, 12, 29))[(UK, "VODX.L")][0] == "matched"
    statement(database, date(2026, 12, 29), lines(160, 500), tag="-stale")
    assert _outcomes(database, date(2026, 12, 29))[(UK, "VODX.L")][:2] == ("break", BreakType.QUANTITY)
    with database.session() as s:
        assert s.scalar(select(Booking.settle_date).where(Booking.source_ref == "T-UK-XMAS")) == date(
            2026, 12, 29
        )


def test_split_booked_a_day_early_by_the_custodian_is_corporate_action_timing(database: Database) -> None:
    build(database)
    with database.transaction() as s:
        apply_corporate_action(
            s, ActionSpec(ref="CA-VODX-2FOR1", symbol="VODX.L", kind="split", ex_date=date(2026, 11, 3),
                          ratio_new=Decimal(2), ratio_old=Decimal(1))
        )  # fmt: skip
    base = [
        (US, "CUSIP", IDS["AAA"]["cusip"], 100),
        (US, "CUSIP", IDS["BPX"]["cusip"], 10),
        (UK, "SEDOL", IDS["BPX.L"]["sedol"], 60),
    ]
    # The book applied the split (lots now 1,000) but on the 2nd it had not happened yet: 500 matches.
    statement(database, date(2026, 11, 2), [*base, (UK, "SEDOL", IDS["VODX.L"]["sedol"], 500)])
    assert _outcomes(database, date(2026, 11, 2))[(UK, "VODX.L")][0] == "matched"
    # The custodian booked it a day early and shows 1,000 on the 2nd: explained, naming the action.
    statement(database, date(2026, 11, 2), [*base, (UK, "SEDOL", IDS["VODX.L"]["sedol"], 1000)], tag="-early")
    o, t, refs, text = _outcomes(database, date(2026, 11, 2))[(UK, "VODX.L")]
    assert (o, t, refs) == ("explained", BreakType.CORPORATE_ACTION, ["CA-VODX-2FOR1"])
    assert "ex-date 2026-11-03" in (text or "")
    # From the ex-date on, 1,000 simply matches; 1,001 is a quantity break, not explained.
    statement(database, date(2026, 11, 3), [*base, (UK, "SEDOL", IDS["VODX.L"]["sedol"], 1000)])
    assert _outcomes(database, date(2026, 11, 3))[(UK, "VODX.L")][0] == "matched"
    statement(database, date(2026, 11, 3), [*base, (UK, "SEDOL", IDS["VODX.L"]["sedol"], 1001)], tag="-off")
    assert _outcomes(database, date(2026, 11, 3))[(UK, "VODX.L")][:2] == ("break", BreakType.QUANTITY)


def test_every_identifier_kind_resolves_and_an_adr_never_matches_its_ordinary(database: Database) -> None:
    ids = build(database)
    with database.session() as s:
        table = identifier_table(s)
    kinds = pd.Series(["ISIN", "CUSIP", "SEDOL", "TICKER", "TICKER", "TICKER", "SEDOL", "ISIN"])
    refs = pd.Series([IDS["AAA"]["isin"], IDS["AAA"]["cusip"], IDS["VODX.L"]["sedol"], "VODX.XLON",
                      "BPX.XLON", "BPX.XNYS", IDS["BPX"]["sedol"], "XS0000000000"])  # fmt: skip
    got = resolve(table, kinds, refs)
    want = [ids["AAA"], ids["AAA"], ids["VODX.L"], ids["VODX.L"], ids["BPX.L"], ids["BPX"], ids["BPX"]]
    assert got[:7].tolist() == want
    assert pd.isna(got[7])
    # Every kind in one statement: all matched.
    statement(database, date(2026, 10, 30), [(US, "TICKER", "AAA.XNYS", 100), (US, "SEDOL", IDS["BPX"]["sedol"], 10),
              (UK, "CUSIP" if IDS["VODX.L"]["cusip"] else "ISIN", IDS["VODX.L"]["isin"], 500), (UK, "TICKER", "BPX.XLON", 60)])  # fmt: skip
    assert {v[0] for v in _outcomes(database, date(2026, 10, 30)).values()} == {"matched"}
    # The custodian reports the US account's 10 ADRs as the 60 ordinary shares they stand for:
    # never netted against each other. The ordinary is missing in the book, the ADR at the custodian.
    statement(database, date(2026, 10, 30), [(US, "TICKER", "AAA.XNYS", 100), (US, "ISIN", IDS["BPX.L"]["isin"], 60),
              (UK, "ISIN", IDS["VODX.L"]["isin"], 500), (UK, "TICKER", "BPX.XLON", 60)], tag="-adr")  # fmt: skip
    got2 = _outcomes(database, date(2026, 10, 30))
    assert got2[(US, "BPX.L")][:2] == ("break", BreakType.MISSING_IN_BOOK)
    assert got2[(US, "BPX")][:2] == ("break", BreakType.MISSING_AT_CUSTODIAN)
    assert got2[(UK, "BPX.L")][0] == "matched"
