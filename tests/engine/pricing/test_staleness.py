"""Stale prices are judged on the security's own exchange calendar (exchange_calendars sessions,
no hand-written holidays) and the policy stored per asset class; FX on the policy's days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import update

from engine.pricing.staleness import (
    DEFAULT_POLICY,
    Policy,
    Rule,
    expected_session,
    fx_last_dates,
    load_policy,
    stale_fx,
    stale_prices,
)
from engine.pricing.tables import StalePolicy
from engine.store.database import Database
from engine.store.market import FxRate

NY = ZoneInfo("America/New_York")
POLICY = Policy(dict(DEFAULT_POLICY))


def _one(
    symbol: str, last: date | None, at: date | datetime, cls: str = "equity", cal: str = "XNYS"
) -> str | None:
    """The stale reason of one price, or None when fresh."""
    frame = pd.DataFrame(
        [(1, symbol, cls, cal, last)], columns=["security_id", "symbol", "asset_class", "calendar", "last"]
    )
    got = stale_prices(frame, POLICY, at)
    return got[1].reason() if got else None


def test_a_friday_close_read_on_monday_is_fresh_until_monday_closes() -> None:
    friday = date(2026, 12, 4)
    monday_morning = datetime(2026, 12, 7, 10, 0, tzinfo=NY)
    assert expected_session("XNYS", monday_morning) == friday
    assert _one("AAA", friday, monday_morning) is None
    # After Monday's close (16:00 New York) Monday's close is expected.
    monday_evening = datetime(2026, 12, 7, 16, 30, tzinfo=NY)
    assert _one("AAA", friday, monday_evening) == "stale price for AAA (last 2026-12-04, expected 2026-12-07)"
    # Read on a date, every session of that date counts as closed; a weekend date reads Friday.
    assert _one("AAA", friday, date(2026, 12, 6)) is None
    assert _one("AAA", friday, date(2026, 12, 7)) is not None


def test_a_price_from_before_a_holiday_is_fresh_the_day_after_it() -> None:
    # Thanksgiving (Thursday 26 Nov 2026) is no NYSE session: Wednesday's close is the last one.
    wednesday = date(2026, 11, 25)
    assert _one("AAA", wednesday, date(2026, 11, 26)) is None
    assert _one("AAA", wednesday, datetime(2026, 11, 27, 9, 0, tzinfo=NY)) is None
    # London: Christmas Day and Boxing Day (observed Monday 28 Dec) are no sessions.
    assert expected_session("XLON", date(2026, 12, 28)) == date(2026, 12, 24)
    assert _one("VOD.L", date(2026, 12, 24), date(2026, 12, 28), cal="XLON") is None
    # The same date is a session in New York: a 24 December close is stale there on the 28th.
    assert _one("AAA", date(2026, 12, 24), date(2026, 12, 28)) == (
        "stale price for AAA (last 2026-12-24, expected 2026-12-28)"
    )


def test_a_price_two_sessions_old_is_stale_and_bonds_allow_their_lag() -> None:
    wednesday, friday = date(2026, 12, 2), date(2026, 12, 4)
    assert _one("AAA", wednesday, friday) == "stale price for AAA (last 2026-12-02, expected 2026-12-04)"
    assert _one("AAA", wednesday, datetime(2026, 12, 7, 10, 0, tzinfo=NY)) is not None
    assert _one("AAA", None, friday) == "stale price for AAA (last none, expected 2026-12-04)"
    # fixed_income: 2 sessions of its market allowed by default.
    assert _one("UST", wednesday, friday, cls="fixed_income") is None
    assert _one("UST", date(2026, 12, 1), friday, cls="fixed_income") == (
        "stale price for UST (last 2026-12-01, expected 2026-12-02)"
    )
    # Tokyo has its own sessions: at 07:00 UTC on Friday Tokyo's Friday session has closed.
    at = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert _one("7203.T", date(2026, 12, 3), at, cal="XTKS") is not None
    assert _one("AAA", date(2026, 12, 3), at) is None


def test_fx_older_than_the_policy_is_stale() -> None:
    at = date(2026, 12, 7)
    got = stale_fx(
        {"USD": date(2026, 12, 4), "JPY": date(2026, 12, 1), "CHF": date(2026, 12, 2), "HKD": None},
        POLICY,
        at,
    )
    assert sorted(got) == ["HKD", "JPY"]
    assert got["JPY"].reason() == "stale FX rate for JPY (last 2026-12-01, expected 2026-12-02)"
    tight = Policy({**DEFAULT_POLICY, "fx": Rule("days", 1)})
    assert sorted(stale_fx({"USD": date(2026, 12, 4)}, tight, at)) == ["USD"]


def test_the_policy_is_stored_per_asset_class(database: Database) -> None:
    with database.session() as s:
        assert load_policy(s).rules == DEFAULT_POLICY
    with database.transaction() as s:
        s.execute(update(StalePolicy).where(StalePolicy.asset_class == "equity").values(allowed=2))
        s.add(StalePolicy(asset_class="fund", rule="sessions", allowed=5, note="monthly NAV"))
    with database.session() as s:
        policy = load_policy(s)
    assert policy.for_class("equity") == Rule("sessions", 2) and policy.for_class("fund") == Rule(
        "sessions", 5
    )
    assert policy.for_class("crypto") == Rule("sessions", 0)  # no row: the strictest rule
    frame = pd.DataFrame(
        [(1, "AAA", "equity", "XNYS", date(2026, 12, 2))],
        columns=["security_id", "symbol", "asset_class", "calendar", "last"],
    )
    assert stale_prices(frame, policy, date(2026, 12, 4)) == {}


def test_fx_last_dates_find_the_last_fixing_naming_each_currency(database: Database) -> None:
    with database.transaction() as s:
        for base, quote, d in (
            ("EUR", "USD", date(2026, 12, 4)),
            ("EUR", "USD", date(2026, 12, 8)),  # after the date read: not counted
            ("EUR", "JPY", date(2024, 3, 1)),  # older than the recent year read first
            ("CHF", "GBP", date(2026, 12, 3)),
        ):
            s.add(FxRate(base=base, quote=quote, date=d, rate=Decimal("1.1"), source="test"))
    with database.session() as s:
        got = fx_last_dates(s, date(2026, 12, 7), ["USD", "JPY", "GBP", "EUR", "HKD"])
    assert got == {
        "EUR": date(2026, 12, 4), "GBP": date(2026, 12, 3), "HKD": None, "JPY": date(2024, 3, 1), "USD": date(2026, 12, 4),
    }  # fmt: skip
    assert sorted(stale_fx(got, POLICY, date(2026, 12, 7))) == ["HKD", "JPY"]
