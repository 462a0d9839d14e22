"""End-of-day closes by identifier, id type and MIC, into prices: all or nothing, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import ImportValidationError
from engine.imports.service import import_file
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.reference import Security

# Real identifiers (check digits verified by the securities import).
SECURITIES = """symbol,name,asset_class,currency,mic,country,sector,isin,cusip,sedol,local_ticker,price_multiplier
AAPL,Apple Inc.,equity,USD,XNAS,US,Information Technology,US0378331005,037833100,2046251,AAPL,1
VOD.L,Vodafone Group,equity,GBP,XLON,GB,Communication Services,GB00BH4HKS39,,BH4HKS3,VOD,0.01
VOD,Vodafone ADR,adr,USD,XNAS,US,Communication Services,,92857W308,,VOD,1
"""


@pytest.fixture
def book(database: Database, tmp_path: Path) -> Database:
    path = tmp_path / "securities.csv"
    # The ADR needs its ordinary and ratio.
    text = SECURITIES.replace(",price_multiplier\n", ",price_multiplier,adr_ordinary,adr_ratio\n")
    text = text.replace(",AAPL,1\n", ",AAPL,1,,\n").replace(",VOD,0.01\n", ",VOD,0.01,,\n")
    text = text.replace(",VOD,1\n", ",VOD,1,VOD.L,10\n")
    path.write_text(text, encoding="utf-8")
    import_file(database, "securities", path)
    return database


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "closes.csv"
    path.write_text("identifier,id_type,mic,date,close,currency\n" + body, encoding="utf-8")
    return path


def _closes(database: Database) -> dict[tuple[str, date], tuple[Decimal, str]]:
    with database.session() as s:
        q = select(Security.symbol, PriceBar.date, PriceBar.close, PriceBar.source).join(
            Security, Security.id == PriceBar.security_id
        )
        return {(sym, d): (close, src) for sym, d, close, src in s.execute(q)}


def test_closes_by_isin_cusip_sedol_and_ticker(book: Database, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "US0378331005,ISIN,XNAS,2026-10-29,269.70,USD\n"
        "037833100,cusip,xnas,2026-10-30,270.37,USD\n"
        "BH4HKS3,SEDOL,XLON,2026-10-30,72.64,GBP\n"
        "VOD,TICKER,XNAS,2026-10-30,9.12,USD\n",
    )
    result = import_file(book, "prices-eod", path)
    assert (result.kind, result.rows, result.inserted, result.updated, result.unchanged) == (
        "prices-eod",
        4,
        4,
        0,
        0,
    )
    assert _closes(book) == {
        ("AAPL", date(2026, 10, 29)): (Decimal("269.70"), "eod"),
        ("AAPL", date(2026, 10, 30)): (Decimal("270.37"), "eod"),
        ("VOD.L", date(2026, 10, 30)): (Decimal("72.64"), "eod"),
        ("VOD", date(2026, 10, 30)): (Decimal("9.12"), "eod"),
    }
    again = import_file(book, "prices-eod", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    path.write_text(path.read_text().replace("270.37", "271.00"), encoding="utf-8")
    fixed = import_file(book, "prices-eod", path)
    assert (fixed.inserted, fixed.updated, fixed.unchanged) == (0, 1, 3)


def test_every_problem_named_and_nothing_written(book: Database, tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "US0378331005,ISIN,XNAS,2026-10-30,270.37,USD\n"  # 2: fine
        "US0378331005,ISIN,XLON,2026-10-30,270.37,USD\n"  # 3: AAPL is not listed on XLON
        "US5949181045,ISIN,XNAS,2026-10-30,500,USD\n"  # 4: unknown security (MSFT, not in the book)
        "BH4HKS3,SEDOL,XLON,2026-10-30,72.64,USD\n"  # 5: currency mismatch
        "037833100,CUSIP,XNAS,2026-10-31,0,USD\n"  # 6: zero close
        "037833100,CUSIP,XNAS,2026-11-02,-1,USD\n"  # 7: negative close
        "037833100,CUSIP,XNAS,2026-11-03,NaN,USD\n"  # 8: not finite
        "037833100,CUSIP,XNAS,2026-11-04,inf,USD\n"  # 9: not finite
        "AAPL,TICKER,XNAS,2026-10-30,270.37,USD\n"  # 10: duplicate of row 2
        "US0378331006,ISIN,XNAS,2026-10-30,1,USD\n"  # 11: bad check digit
        "AAPL,RIC,XNAS,2026-10-30,1,USD\n",  # 12: unknown id type
    )
    with pytest.raises(ImportValidationError) as e:
        import_file(book, "prices-eod", path)
    got = {(p.row, p.column): p.reason for p in e.value.problems}
    assert got[(3, "mic")] == "ISIN US0378331005 is listed on XNAS in the book, not XLON"
    assert got[(4, "identifier")] == "unknown security: no listing with ISIN US5949181045 on XNAS"
    assert got[(5, "currency")] == "currency 'USD' differs from VOD.L's currency 'GBP'"
    assert got[(6, "close")] == "close '0' is zero; it must be greater than zero"
    assert got[(7, "close")] == "close '-1' is negative; it must be greater than zero"
    assert got[(8, "close")] == "close 'NaN' is not a finite number"
    assert got[(9, "close")] == "close 'inf' is not a finite number"
    assert got[(10, "date")] == "duplicate close AAPL on 2026-10-30: already on row 2"
    assert "check digit" in got[(11, "identifier")]
    assert got[(12, "id_type")] == "id_type 'RIC' is not one of ISIN, CUSIP, SEDOL, TICKER"
    assert len(got) == 11 - 1  # every row but the first
    assert _closes(book) == {}


def test_missing_columns_are_row_1_problems(book: Database, tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_text("identifier,mic,date,close\nUS0378331005,XNAS,2026-10-30,1\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        import_file(book, "prices-eod", path)
    assert {(p.row, p.column) for p in e.value.problems} == {(1, "id_type"), (1, "currency")}
