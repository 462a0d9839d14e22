"""The operations desk's read model of the day cycle (engine.views.daycycle): the default close
date and one exception row per refused row/field/reason, per stale price, per action not booked."""

from __future__ import annotations

from datetime import date

from engine.views.daycycle import exception_rows, next_business_day


def test_next_business_day_skips_the_weekend() -> None:
    assert next_business_day(date(2026, 11, 20), date(2026, 12, 7)) == date(2026, 11, 23)  # Fri -> Mon
    assert next_business_day(date(2026, 11, 23), date(2026, 12, 7)) == date(2026, 11, 24)
    # nothing closed yet: the weekday before today (Monday -> the Friday before)
    assert next_business_day(None, date(2026, 12, 7)) == date(2026, 12, 4)


def test_exception_rows_spell_out_refusals_and_stale_items() -> None:
    rows = exception_rows(
        "load",
        [
            {"kind": "refused_file", "file": "prices/eod.csv", "problems": [
                {"row": 2, "field": "close", "reason": "must be positive"},
                {"row": 5, "field": "identifier", "reason": "no security 'XX'"},
            ]},
            {"kind": "stale_price", "name": "AKR", "reason": "last close 2026-10-30", "accounts": 3},
            {"kind": "corporate_action_not_booked", "ref": "CA-1", "reason": "no price"},
            {"kind": "breaks", "custodian": "alpha", "open": 4},
        ],
    )  # fmt: skip
    assert [(r["kind"], r["subject"], r["row"], r["field"]) for r in rows] == [
        ("refused_file", "prices/eod.csv", "2", "close"),
        ("refused_file", "prices/eod.csv", "5", "identifier"),
        ("stale_price", "AKR", "", ""),
        ("corporate_action_not_booked", "CA-1", "", ""),
        ("breaks", "alpha", "", ""),
    ]
    assert rows[0]["reason"] == "must be positive"
    assert rows[4]["reason"] == "custodian alpha, open 4"
    assert {r["step"] for r in rows} == {"load"}
