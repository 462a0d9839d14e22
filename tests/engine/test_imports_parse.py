"""The CSV reader and field parsers on their own (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.imports import parse
from engine.imports.csvread import FILE, read_csv
from engine.model.enums import LotRelief


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes('\ufeffSymbol , Close\nAAPL, 1 \n\n,\n"MS\nFT",2\nIBM,3\n'.encode())
    table = read_csv(path, ["symbol", "close"])
    assert table.problems == []
    assert table.columns == ("symbol", "close")
    assert [(r.number, r.values) for r in table.rows] == [
        (2, {"symbol": "AAPL", "close": "1"}),
        (5, {"symbol": "MS\nFT", "close": "2"}),
        (6, {"symbol": "IBM", "close": "3"}),
    ]


def test_header_problems_are_on_row_one(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("symbol,clse,symbol\nAAPL,1,2\n")
    problems = read_csv(path, ["symbol", "close"], ["volume"]).problems
    assert [(p.row, p.column) for p in problems] == [(1, "clse"), (1, "symbol"), (1, "close")]
    assert "unknown column 'clse'" in problems[0].reason
    assert "missing required column 'close'" in problems[2].reason


def test_value_under_a_blank_header_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("symbol,close,\nAAPL,1,\nMSFT,2,oops\n")
    problems = read_csv(path, ["symbol", "close"]).problems
    assert [(p.row, p.column) for p in problems] == [(3, FILE)]
    assert "'oops'" in problems[0].reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal(12)),
        ("-0.5", Decimal("-0.5")),
        ("+.25", Decimal("0.25")),
        ("1.500000000", Decimal("1.5")),
    ],
)
def test_decimal_accepts_plain_numbers(text: str, expected: Decimal) -> None:
    value = parse.decimal(text, parse.PRICE)
    assert isinstance(value, Decimal) and value == expected


@pytest.mark.parametrize("text", ["1,000", "1e3", "NaN", "Infinity", "0x10", "", "1.2.3", "1 000"])
def test_decimal_refuses_everything_else(text: str) -> None:
    with pytest.raises(parse.ParseError, match="not a number"):
        parse.decimal(text)


def test_decimal_refuses_what_the_store_cannot_hold() -> None:
    with pytest.raises(parse.ParseError, match="more than 4 decimal places"):
        parse.decimal("0.00001", parse.AMOUNT)
    with pytest.raises(parse.ParseError, match="too large"):
        parse.decimal("100000000", parse.QUANTITY)


def test_percent_becomes_a_fraction() -> None:
    assert parse.percent("2") == Decimal("0.02")
    assert parse.percent("0.12345678") == Decimal("0.0012345678")
    with pytest.raises(parse.ParseError, match="more than 100"):
        parse.percent("100.01")


def test_other_parsers() -> None:
    assert parse.iso_date("2024-02-29") == date(2024, 2, 29)
    assert parse.boolean("Yes") is True and parse.boolean("0") is False
    assert parse.items(" a ;b;; c ") == ["a", "b", "c"]
    assert parse.enum_value("hifo", LotRelief) is LotRelief.HIFO
    assert parse.isin("us0378331005") == "US0378331005"
    with pytest.raises(parse.ParseError, match="'a' is listed twice"):
        parse.items("a;a")
    with pytest.raises(parse.ParseError, match="'2023-02-29' is not a valid date"):
        parse.iso_date("2023-02-29")
    with pytest.raises(parse.ParseError, match="longer than 4"):
        parse.text(4)("ABCDE")
