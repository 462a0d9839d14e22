"""Exchange sessions built in a child process: the same arrays as in-process, and the real calendar's days."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from engine.markets.sessions import session_bounds, session_bounds_apart


def test_the_child_builds_the_same_sessions_as_this_process() -> None:
    apart = session_bounds_apart(["XNYS", "XTKS", "XLON"], date(2026, 11, 26), 10)
    here = session_bounds(["XNYS", "XTKS", "XLON"], date(2026, 11, 16), date(2026, 12, 6))
    assert sorted(apart) == ["XLON", "XNYS", "XTKS"]
    for name, (opens, closes) in here.items():
        assert opens.dtype == np.dtype("datetime64[s]") and closes.dtype == np.dtype("datetime64[s]")
        assert np.array_equal(apart[name][0], opens) and np.array_equal(apart[name][1], closes)


def test_new_york_around_thanksgiving_2026() -> None:
    """NYSE's published hours: closed on Thursday 26 November 2026, closing at 13:00 New York
    (18:00 UTC) on Friday the 27th; a normal day opens 09:30 and closes 16:00 (14:30-21:00 UTC)."""
    opens, closes = session_bounds_apart(["XNYS"], date(2026, 11, 26), 3)["XNYS"]
    days = [str(o)[:10] for o in opens]
    assert days == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"]
    assert str(opens[0]) == "2026-11-23T14:30:00" and str(closes[0]) == "2026-11-23T21:00:00"
    assert str(closes[3]) == "2026-11-27T18:00:00"


def test_an_unknown_calendar_is_an_error_from_the_child() -> None:
    with pytest.raises(Exception, match="NOPE"):
        session_bounds_apart(["NOPE"], date(2026, 11, 26), 3)


def test_the_same_question_again_is_answered_from_memory() -> None:
    first = session_bounds_apart(["XLON", "XNYS"], date(2026, 12, 7), 2)
    again = session_bounds_apart(["XNYS", "XLON", "XNYS"], date(2026, 12, 7), 2)  # same set, any order
    assert again is first  # no second child
    assert session_bounds_apart(["XLON", "XNYS"], date(2026, 12, 8), 2) is not first
