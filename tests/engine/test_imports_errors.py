"""Every class of bad input: reported at its exact row and column with the bad value named,
and nothing written, not even the valid rows of the same file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ImportValidationError, NotFound, Problem
from engine.imports.service import import_file
from engine.store.accounts import Account, Model
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from tests.engine.test_imports import (
    account_id,
    load,
    load_book,
    one,
    row_counts,
    security_id,
    snapshot,
    write_csv,
)

SECURITY = {
    "symbol": "MSFT",
    "name": "Microsoft",
    "asset_class": "equity",
    "currency": "USD",
    "mic": "XNAS",
    "country": "US",
    "sector": "Information Technology",
}
ACCOUNT = {
    "account": "A9",
    "name": "New account",
    "household": "H1",
    "base_currency": "USD",
    "custodian": "Schwab",
    "tax_status": "taxable",
    "tax_jurisdiction": "US",
    "client_type": "retail",
    "domicile": "onshore",
    "kyc_status": "approved",
    "risk_rating": "low",
    "cash_target": "2",
    "cash_floor": "1",
    "drift_band": "3",
    "lot_relief": "fifo",
}
COMPONENT = {"model": "NEW", "symbol": "AAPL", "weight": "100"}
LOT = {
    "account": "A1",
    "lot_id": "N1",
    "symbol": "AAPL",
    "quantity": "1",
    "unit_cost": "100",
    "acquired": "2024-01-02",
}
CASH = {"account": "A2", "currency": "USD", "settled": "5"}
PRICE = {"symbol": "AAPL", "date": "2024-01-05", "close": "181.18"}
FX = {"base": "EUR", "quote": "JPY", "date": "2024-01-05", "rate": "159.52"}


@pytest.fixture
def book(database: Database, tmp_path: Path) -> Database:
    """The book of test_imports.py: securities, models, accounts and FX rates."""
    return load_book(database, tmp_path)


VALID: dict[str, tuple[dict[str, str], Callable[[Database], Any]]] = {
    "securities": (SECURITY, lambda db: one(db, Security, symbol="MSFT")),
    "accounts": (ACCOUNT, lambda db: one(db, Account, code="A9")),
    "models": (COMPONENT, lambda db: one(db, Model, code="NEW")),
    "lots": (LOT, lambda db: one(db, TaxLot, lot_ref="N1")),
    "cash": (CASH, lambda db: one(db, CashBalance, account_id=account_id(db, "A2"), currency="USD")),
    "prices": (
        PRICE,
        lambda db: one(db, PriceBar, security_id=security_id(db, "AAPL"), date=date(2024, 1, 5)),
    ),
    "fx": (FX, lambda db: one(db, FxRate, base="EUR", quote="JPY", date=date(2024, 1, 5))),
}
"""Per kind: a row that is valid on its own (always row 2), and how to look it up in the store."""


def csv_of(kind: str, *bad: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    """The kind's valid row on row 2, then each bad row (the valid row with changes) on rows 3, 4..."""
    valid = VALID[kind][0]
    rows = [valid, *({**valid, **b} for b in bad)]
    header = [c for c in dict.fromkeys(k for r in rows for k in r) if c not in drop]
    lines = [",".join(header)] + [",".join(r.get(c, "") for c in header) for r in rows]
    return "\n".join(lines) + "\n"


def refused(
    database: Database, tmp_path: Path, kind: str, text: str, row: int, column: str, *words: str
) -> list[Problem]:
    """Import must fail with exactly one problem at (row, column) naming `words`, and write nothing."""
    counts, before = row_counts(database), snapshot(database)
    with pytest.raises(ImportValidationError) as info:
        load(database, tmp_path, kind, text)
    problems = info.value.problems
    assert info.value.source == f"{kind}.csv"
    assert [(p.row, p.column) for p in problems] == [(row, column)], problems
    for word in words:
        assert word in problems[0].reason, (word, problems[0].reason)
    assert row_counts(database) == counts
    assert snapshot(database) == before
    assert VALID[kind][1](database) is None, "the valid row was written"
    return problems


CASES = [
    # securities
    (
        "securities",
        csv_of("securities", drop=("sector",)),
        1,
        "sector",
        ["missing required column", "'sector'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "NFLX", "name": ""}),
        3,
        "name",
        ["missing value", "'name'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "mic": "XXXX"}),
        3,
        "mic",
        ["unknown exchange MIC", "'XXXX'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "currency": "usd"}),
        3,
        "currency",
        ["'usd'", "ISO 4217"],
    ),
    ("securities", csv_of("securities", {"symbol": "X", "country": "USA"}), 3, "country", ["'USA'"]),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "asset_class": "stock"}),
        3,
        "asset_class",
        ["'stock'", "equity"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "sector": "Tech"}),
        3,
        "sector",
        ["'Tech'", "Information Technology"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "esg_flags": "tobacco;coal"}),
        3,
        "esg_flags",
        ["'coal'"],
    ),
    ("securities", csv_of("securities", {"symbol": "X", "esg_score": "101"}), 3, "esg_score", ["'101'"]),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "allowed_client_types": "hedge_fund"}),
        3,
        "allowed_client_types",
        ["'hedge_fund'", "retail"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "allowed_domiciles": "mars"}),
        3,
        "allowed_domiciles",
        ["'mars'", "onshore"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "lot_size": "ten"}),
        3,
        "lot_size",
        ["'ten'", "not a whole number"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "price_multiplier": "1.5.0"}),
        3,
        "price_multiplier",
        ["'1.5.0'", "not a number"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "price_multiplier": "0"}),
        3,
        "price_multiplier",
        ["'0'", "zero"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "maturity": "2030-02-30"}),
        3,
        "maturity",
        ["'2030-02-30'"],
    ),
    ("securities", csv_of("securities", {"symbol": "X", "coupon": "-1"}), 3, "coupon", ["'-1'", "negative"]),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "isin": "US0378331006"}),
        3,
        "isin",
        ["'US0378331006'", "check digit"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "cusip": "037833101"}),
        3,
        "cusip",
        ["'037833101'", "check digit"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "sedol": "2046252"}),
        3,
        "sedol",
        ["'2046252'", "check digit"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "isin": "US0378331005"}),
        3,
        "isin",
        ["'US0378331005'", "already used by security 'AAPL'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "sedol": "2046251"}),
        3,
        "sedol",
        ["'2046251'", "'AAPL'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "MSFT"}),
        3,
        "symbol",
        ["duplicate symbol 'MSFT'", "row 2"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "asset_class": "adr", "adr_ordinary": "NOPE", "adr_ratio": "2"}),
        3,
        "adr_ordinary",
        ["unknown ordinary", "'NOPE'"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "asset_class": "adr", "adr_ordinary": "AAPL", "adr_ratio": ""}),
        3,
        "adr_ratio",
        ["ADR 'X'", "no adr_ratio"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "asset_class": "adr", "adr_ordinary": "VOD", "adr_ratio": "1"}),
        3,
        "adr_ordinary",
        ["'VOD'", "itself an ADR"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "adr_ratio": "2"}),
        3,
        "adr_ratio",
        ["'2'", "only for asset_class adr"],
    ),
    (
        "securities",
        csv_of("securities", {"symbol": "X", "isn": "US0378331005"}),
        1,
        "isn",
        ["unknown column 'isn'"],
    ),
    # accounts
    (
        "accounts",
        csv_of("accounts", drop=("lot_relief",)),
        1,
        "lot_relief",
        ["missing required column 'lot_relief'"],
    ),
    ("accounts", csv_of("accounts", {"account": "A8", "custodian": ""}), 3, "custodian", ["missing value"]),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "household": "H9"}),
        3,
        "household",
        ["unknown household 'H9'", "household_name"],
    ),
    (
        "accounts",
        csv_of(
            "accounts",
            {"account": "A8", "household": "H9", "household_name": "Lee"},
            {"account": "A7", "household": "H9", "household_name": "Li"},
        ),
        4,
        "household_name",
        ["'Li'", "'Lee'", "row 3"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "model": "NOPE"}),
        3,
        "model",
        ["unknown model 'NOPE'"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "excluded_securities": "AAPL;ZZZ"}),
        3,
        "excluded_securities",
        ["unknown security 'ZZZ'"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "base_currency": "EURO"}),
        3,
        "base_currency",
        ["'EURO'"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "tax_status": "taxed"}),
        3,
        "tax_status",
        ["'taxed'", "taxable"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "client_type": "hedge"}),
        3,
        "client_type",
        ["'hedge'", "retail"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "domicile": "moon"}),
        3,
        "domicile",
        ["'moon'", "offshore"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "kyc_status": "ok"}),
        3,
        "kyc_status",
        ["'ok'", "approved"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "risk_rating": "extreme"}),
        3,
        "risk_rating",
        ["'extreme'", "high"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "lot_relief": "random"}),
        3,
        "lot_relief",
        ["'random'", "hifo"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "esg_exclusions": "coal"}),
        3,
        "esg_exclusions",
        ["'coal'", "fossil_fuels"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "excluded_sectors": "Energy;Tech"}),
        3,
        "excluded_sectors",
        ["'Tech'"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "kyc_review_date": "31/03/2027"}),
        3,
        "kyc_review_date",
        ["'31/03/2027'", "YYYY-MM-DD"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "drift_band": "three"}),
        3,
        "drift_band",
        ["'three'", "not a number"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "cash_target": "150"}),
        3,
        "cash_target",
        ["'150'", "more than 100"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "cash_floor": "-1"}),
        3,
        "cash_floor",
        ["'-1'", "negative"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "cash_floor": "3"}),
        3,
        "cash_floor",
        ["'3'", "above cash_target '2'"],
    ),
    (
        "accounts",
        csv_of("accounts", {"account": "A8", "keep_legacy": "maybe"}),
        3,
        "keep_legacy",
        ["'maybe'"],
    ),
    ("accounts", csv_of("accounts", {"account": "A8", "min_esg_score": "x"}), 3, "min_esg_score", ["'x'"]),
    ("accounts", csv_of("accounts", {}), 3, "account", ["duplicate account 'A9'", "row 2"]),
    # models
    (
        "models",
        csv_of(
            "models", {"model": "BAD", "weight": "60"}, {"model": "BAD", "symbol": "VOD.L", "weight": "39.98"}
        ),
        3,
        "weight",
        ["'BAD'", "99.98", "100", "±0.01"],
    ),
    ("models", csv_of("models", {"model": "BAD", "symbol": "ZZZ"}), 3, "symbol", ["unknown security 'ZZZ'"]),
    (
        "models",
        csv_of("models", {"model": "BAD", "symbol": "", "sub_model": "NOPE"}),
        3,
        "sub_model",
        ["unknown sub-model 'NOPE'"],
    ),
    (
        "models",
        csv_of("models", {"model": "BAD", "sub_model": "CORE"}),
        3,
        "sub_model",
        ["'AAPL'", "'CORE'", "not both"],
    ),
    (
        "models",
        csv_of("models", {"model": "BAD", "symbol": "", "sub_model": ""}),
        3,
        "symbol",
        ["symbol or a sub_model"],
    ),
    ("models", csv_of("models", {"model": "BAD", "weight": "-100"}), 3, "weight", ["'-100'", "negative"]),
    ("models", csv_of("models", {"model": "BAD", "weight": "abc"}), 3, "weight", ["'abc'", "not a number"]),
    (
        "models",
        csv_of("models", {"model": "BAD", "symbol": "", "sub_model": "BAD"}),
        3,
        "sub_model",
        ["'BAD'", "contains itself", "BAD -> BAD"],
    ),
    (
        "models",
        csv_of("models", {"model": "CORE", "symbol": "", "sub_model": "BAL"}),
        3,
        "sub_model",
        ["'CORE'", "CORE -> BAL -> CORE"],
    ),
    (
        "models",
        csv_of("models", {"model": "NEW", "weight": "0"}),
        3,
        "symbol",
        ["duplicate component 'AAPL' in model 'NEW'", "row 2"],
    ),
    (
        "models",
        csv_of("models", drop=("symbol",)),
        1,
        "symbol",
        ["'symbol' or 'sub_model'"],
    ),
    # lots
    ("lots", csv_of("lots", drop=("acquired",)), 1, "acquired", ["missing required column 'acquired'"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "quantity": ""}), 3, "quantity", ["missing value"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "account": "ZZ"}), 3, "account", ["unknown account 'ZZ'"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "symbol": "ZZZ"}), 3, "symbol", ["unknown security 'ZZZ'"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "quantity": "-10"}), 3, "quantity", ["'-10'", "negative"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "quantity": "0"}), 3, "quantity", ["'0'", "zero"]),
    (
        "lots",
        csv_of("lots", {"lot_id": "N2", "quantity": "1.1234567"}),
        3,
        "quantity",
        ["'1.1234567'", "6 decimal places"],
    ),
    ("lots", csv_of("lots", {"lot_id": "N2", "unit_cost": "-0.01"}), 3, "unit_cost", ["'-0.01'", "negative"]),
    ("lots", csv_of("lots", {"lot_id": "N2", "unit_cost": "1e3"}), 3, "unit_cost", ["'1e3'", "not a number"]),
    (
        "lots",
        csv_of("lots", {"lot_id": "N2", "acquired": "2024/01/02"}),
        3,
        "acquired",
        ["'2024/01/02'", "YYYY-MM-DD"],
    ),
    (
        "lots",
        csv_of("lots", {"lot_id": "N2", "symbol": "SAP.DE", "fx_rate": "-1.1"}),
        3,
        "fx_rate",
        ["'-1.1'", "negative"],
    ),
    (
        "lots",
        csv_of("lots", {"lot_id": "N2", "symbol": "SAP.DE", "fx_rate": "0"}),
        3,
        "fx_rate",
        ["'0'", "zero"],
    ),
    ("lots", csv_of("lots", {"lot_id": "N2", "fx_rate": "1.2"}), 3, "fx_rate", ["'1.2'", "must be 1"]),
    (
        "lots",
        csv_of("lots", {"lot_id": "N2", "symbol": "SAP.DE", "acquired": "2024-02-01"}),
        3,
        "fx_rate",
        ["EUR->USD", "2024-02-01", "no fx_rate"],
    ),
    ("lots", csv_of("lots", {}), 3, "lot_id", ["duplicate lot 'N1' in account 'A1'", "row 2"]),
    # cash
    ("cash", csv_of("cash", {"account": "ZZ"}), 3, "account", ["unknown account 'ZZ'"]),
    ("cash", csv_of("cash", {"currency": "XYZ"}), 3, "currency", ["'XYZ'", "ISO 4217"]),
    (
        "cash",
        csv_of("cash", {"currency": "GBP", "settled": "12.34567"}),
        3,
        "settled",
        ["'12.34567'", "4 decimal places"],
    ),
    (
        "cash",
        csv_of("cash", {"currency": "GBP", "unsettled": "1.2.3"}),
        3,
        "unsettled",
        ["'1.2.3'", "not a number"],
    ),
    ("cash", csv_of("cash", {"currency": "GBP", "settled": ""}), 3, "settled", ["missing value"]),
    ("cash", csv_of("cash", {}), 3, "currency", ["duplicate balance 'USD' in account 'A2'", "row 2"]),
    # prices
    ("prices", csv_of("prices", {"symbol": "ZZZ"}), 3, "symbol", ["unknown security 'ZZZ'"]),
    ("prices", csv_of("prices", {"date": "2024-01-08", "close": "0"}), 3, "close", ["'0'", "zero"]),
    ("prices", csv_of("prices", {"date": "2024-01-08", "close": "-181"}), 3, "close", ["'-181'", "negative"]),
    (
        "prices",
        csv_of("prices", {"date": "2024-01-08", "currency": "EUR"}),
        3,
        "currency",
        ["'EUR'", "'USD'"],
    ),
    ("prices", csv_of("prices", {"date": "2024-01-08", "volume": "-5"}), 3, "volume", ["'-5'"]),
    ("prices", csv_of("prices", {"date": "Jan 8"}), 3, "date", ["'Jan 8'"]),
    ("prices", csv_of("prices", {}), 3, "date", ["duplicate price AAPL on 2024-01-05", "row 2"]),
    # fx
    ("fx", csv_of("fx", {"quote": "USD", "rate": "0"}), 3, "rate", ["'0'", "zero"]),
    ("fx", csv_of("fx", {"quote": "USD", "rate": "-1.08"}), 3, "rate", ["'-1.08'", "negative"]),
    ("fx", csv_of("fx", {"quote": "usd"}), 3, "quote", ["'usd'", "ISO 4217"]),
    ("fx", csv_of("fx", {"quote": "EUR"}), 3, "quote", ["'EUR'", "same currency as base"]),
    ("fx", csv_of("fx", {"quote": "USD", "date": "2024-1-5"}), 3, "date", ["'2024-1-5'"]),
    ("fx", csv_of("fx", {}), 3, "date", ["duplicate rate EUR/JPY on 2024-01-05", "row 2"]),
    ("fx", csv_of("fx") + "EUR,GBP,2024-01-05,0.86,extra\n", 3, "(file)", ["5 values", "4 columns"]),
]


@pytest.mark.parametrize(
    ("kind", "text", "row", "column", "words"),
    [pytest.param(*case, id=f"{case[0]}-{case[3]}-{'-'.join(case[4])[:40]}") for case in CASES],
)
def test_refused_and_nothing_written(
    book: Database, tmp_path: Path, kind: str, text: str, row: int, column: str, words: list[str]
) -> None:
    refused(book, tmp_path, kind, text, row, column, *words)


def test_every_problem_of_a_file_is_reported_together(book: Database, tmp_path: Path) -> None:
    text = csv_of(
        "lots", {"lot_id": "N2", "account": "ZZ", "quantity": "-1"}, {"lot_id": "N3", "acquired": "x"}
    )
    before = snapshot(book)
    with pytest.raises(ImportValidationError) as info:
        load(book, tmp_path, "lots", text)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (3, "account"),
        (3, "quantity"),
        (4, "acquired"),
    ]
    assert info.value.lines()[0] == "lots.csv: row 3, column account: unknown account 'ZZ'"
    assert snapshot(book) == before


def test_model_weights_within_tolerance_pass(book: Database, tmp_path: Path) -> None:
    text = "model,symbol,weight\nNEW,AAPL,60.005\nNEW,VOD.L,39.99\n"
    assert load(book, tmp_path, "models", text).inserted == 2


def test_adr_ordinary_may_come_from_the_same_file(book: Database, tmp_path: Path) -> None:
    text = csv_of(
        "securities",
        {
            "symbol": "TM",
            "asset_class": "adr",
            "adr_ordinary": "MSFT",
            "adr_ratio": "2",
            "sector": "Consumer Discretionary",
        },
    )
    assert load(book, tmp_path, "securities", text).inserted == 2
    assert one(book, Security, symbol="TM").adr_ordinary_id == security_id(book, "MSFT")


def test_identifier_twice_in_one_file(book: Database, tmp_path: Path) -> None:
    text = csv_of("securities", {"symbol": "X", "cusip": "594918104"}, {"symbol": "Y", "cusip": "594918104"})
    refused(book, tmp_path, "securities", text, 4, "cusip", "'594918104'", "'X' on row 3")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "file is empty"),
        (b"account,currency,settled\nA1,EUR,\xff\xfe\n", "not UTF-8"),
    ],
)
def test_unreadable_files(book: Database, tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "cash.csv"
    path.write_bytes(content)
    with pytest.raises(ImportValidationError) as info:
        import_file(book, "cash", path)
    assert [(p.row, p.column) for p in info.value.problems] == [(1, "(file)")]
    assert reason in info.value.problems[0].reason


def test_repeated_header_column(book: Database, tmp_path: Path) -> None:
    refused(
        book,
        tmp_path,
        "cash",
        "account,currency,settled,settled\nA2,USD,5,6\n",
        1,
        "settled",
        "more than once",
    )


def test_unknown_kind(book: Database, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="unknown import kind 'trades'"):
        import_file(book, "trades", write_csv(tmp_path, "t.csv", "a\n1\n"))
