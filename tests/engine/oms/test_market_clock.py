"""Market clock from exchange_calendars: holidays, early closes, lunch breaks, local times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.clock import ManualClock
from engine.markets.clock import Market, MarketClock

MARKETS = {
    "XNYS": Market("XNYS", "New York", "XNYS", "America/New_York"),
    "XTKS": Market("XTKS", "Tokyo", "XTKS", "Asia/Tokyo"),
    "XLON": Market("XLON", "London", "XLON", "Europe/London"),
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def mc() -> MarketClock:
    return MarketClock(ManualClock(at(2026, 11, 26, 15, 0)), MARKETS)


def test_thanksgiving_holiday_and_early_close(mc: MarketClock) -> None:
    assert not mc.is_open("XNYS")  # Thursday 26 November 2026: closed for Thanksgiving
    assert mc.next_open("XNYS") == at(2026, 11, 27, 14, 30)
    assert mc.next_close("XNYS", at(2026, 11, 27, 15, 0)) == at(2026, 11, 27, 18, 0)  # 13:00 early close
    assert mc.release_time("XNYS", at(2026, 11, 27, 15, 0)) is None


def test_tokyo_lunch_break_releases_after_lunch(mc: MarketClock) -> None:
    lunch = at(2026, 11, 24, 2, 45)  # 11:45 in Tokyo
    assert not mc.is_open("XTKS", lunch)
    assert mc.next_open("XTKS", lunch) == at(2026, 11, 24, 3, 30)  # 12:30 Tokyo


def test_settlement_sessions_skip_holidays(mc: MarketClock) -> None:
    assert mc.add_sessions("XNYS", date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert mc.session_date("XNYS", at(2026, 11, 26, 15, 0)) == date(2026, 11, 27)


def test_status_lists_local_times_and_time_to_change(mc: MarketClock) -> None:
    rows = {r.mic: r for r in mc.status()}
    assert rows["XLON"].is_open and rows["XLON"].local_time.hour == 15
    assert rows["XLON"].time_to_change == timedelta(hours=1, minutes=30)  # closes 16:30
    assert not rows["XNYS"].is_open and rows["XNYS"].next_open == at(2026, 11, 27, 14, 30)
    assert rows["XTKS"].local_time.utcoffset() == timedelta(hours=9)
