"""The day cycle dock's counts read as a desk reads them: separators, amounts in the minor units of
the currency they sit under (JPY none, KWD three), lists by their length, no Python dicts."""

from __future__ import annotations

from engine.views.daycycle import _counts


def test_nested_amounts_take_their_currencys_minor_units() -> None:
    settle = {
        "movements": 1126,
        "by_currency": {
            "AUD": {"movements": 18, "amount": "612760.7600"},
            "JPY": {"movements": 28, "amount": "-10286143.0000"},
            "KWD": {"movements": 1, "amount": "12.3450"},
        },
    }
    assert _counts(settle) == (
        "movements 1,126 · by currency AUD (movements 18, amount 612,760.76), "
        "JPY (movements 28, amount -10,286,143), KWD (movements 1, amount 12.345)"
    )


def test_flat_values_lists_and_empty_maps() -> None:
    revalue = {"lots": 27717, "value_by_base_currency": {"CHF": 32550977.03}, "booked_refs": ["a", "b"]}
    assert _counts(revalue) == "lots 27,717 · value by base currency CHF 32,550,977.03 · booked refs 2"
    assert _counts({"loaded_by_kind": {}, "since": "2026-10-29"}) == "loaded by kind none · since 2026-10-29"
    assert _counts(None) == ""
