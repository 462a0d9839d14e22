"""The column readers (CSV by column, semt.002 in one pass) give exactly what the row-by-row
reference readers give: the same lines for good files, the same problems for bad ones, and a bad
cell deep in a big file is named by its row, field and reason with nothing stored."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.custodian.csvfile import read_csv_statement
from connectors.custodian.iso20022 import message_version, read_iso_statement
from connectors.custodian.load import load_files
from connectors.custodian.profile import profile_for
from connectors.custodian.semt002 import read_semt002
from connectors.custodian.semt002fast import read_semt002_columns
from connectors.custodian.xmltree import Tree
from engine.errors import ImportValidationError
from engine.model.identifiers import isin_check_digit
from engine.reconcile.statement import ParsedStatement
from engine.reconcile.tables import Statement
from engine.store.database import Database
from tests.engine.reconcile.minibook import CUST, IDS, OPS, build

A = "SIM-CUSTODIAN-A"
B = "SIM-CUSTODIAN-B"
HEAD = "custodian,account,security_id,id_type,quantity,currency,market_value,as_of\n"
ISIN = "US0378331005"
SEDOL = "B0YBKJ7"


def _both(path: Path, custodian: str) -> tuple[object, object]:
    """(fast, reference) reading of one CSV: each a ParsedStatement or the problems raised."""
    out = []
    for slow in (False, True):
        try:
            st = read_csv_statement(path, profile_for(custodian), slow=slow)
            out.append((st.kind, st.as_of, st.positions, st.cash))
        except ImportValidationError as exc:
            out.append(exc.lines())  # type: ignore[arg-type]
    return out[0], out[1]


GENERIC_CASES = {
    "plain": HEAD + f"{A},A1,{ISIN},ISIN,10,USD,100.5,2026-10-30\n{A},A2,{ISIN},isin,-3.25,usd,,2026-10-30\n",
    "padded and odd numbers read by the line reader": HEAD
    + f"{A}, A1 ,{ISIN} ,ISIN,1e3,USD, 7 ,2026-10-30\n{A},A2,{ISIN},ISIN,+4.,USD,1_000,2026-10-30\n",
    "blank lines and CRLF": HEAD.replace("\n", "\r\n")
    + f"{A},A1,{ISIN},ISIN,10,USD,1,2026-10-30\r\n\r\n,,,,,,,\r\n{A},A1,{ISIN},ISIN,2,USD,1,2026-10-30\r\n",
    "quoted cells": HEAD + f'"{A}","A1","{ISIN}",ISIN,"10",USD,"1",2026-10-30\n',
    "problems": HEAD
    + f"{A},A1,{ISIN},ISIN,ten,USD,1,2026-10-30\nX,,US0378331006,ISIN,1,EURO,1,2026-10-31\n{A},A1\n",
    "a ticker and a sedol": HEAD
    + f"{A},A1,VOD.XLON,TICKER,5,GBP,,2026-10-30\n{A},A1,{SEDOL},SEDOL,5,GBP,,2026-10-30\n",
    "inf and nan": HEAD + f"{A},A1,{ISIN},ISIN,inf,USD,nan,2026-10-30\n",
}


@pytest.mark.parametrize("case", sorted(GENERIC_CASES))
def test_generic_csv_by_column_equals_row_by_row(tmp_path: Path, case: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(GENERIC_CASES[case], encoding="utf-8", newline="")
    fast, slow = _both(path, A)
    assert fast == slow
    if case == "plain":
        assert isinstance(fast, tuple)
        assert [(p.quantity, p.market_value, p.currency) for p in fast[2]] == [
            (Decimal(10), Decimal("100.5"), "USD"),
            (Decimal("-3.25"), None, "USD"),
        ]


B_HEAD = "Depot;Kennungsart;Kennung;Bestand;Waehrung;Kurswert;Stichtag\n"
B_CASES = {
    "european numbers, trailing minus": B_HEAD
    + f"4711-000001;SEDOL;{SEDOL};1.234,5;USD;12.345.678,90-;30.10.2026\n"
    + f"4711-000002;SEDOL;{SEDOL};7-;USD;0,5;30.10.2026\n",
    "misplaced thousands and a dot decimal": B_HEAD
    + f"4711-000001;SEDOL;{SEDOL};12.34,5;USD;1,5;30.10.2026\n4711-000001;SEDOL;{SEDOL};1.5;USD;1;30.10.2026\n",
    "unmapped account and a bad date": B_HEAD + f"9999;SEDOL;{SEDOL};1;USD;1;2026-10-30\n",
    "cash with debit marks": "Depot;Waehrung;Saldo;S/H;Stichtag\n4711-000001;USD;1.000,00;S;30.10.2026\n"
    "4711-000002;EUR;5,5; H ;30.10.2026\n4711-000003;EUR;5,5-;S;30.10.2026\n",
}


@pytest.mark.parametrize("case", sorted(B_CASES))
def test_profile_csv_by_column_equals_row_by_row(tmp_path: Path, case: str) -> None:
    path = tmp_path / "b.csv"
    path.write_text(B_CASES[case], encoding="utf-8")
    fast, slow = _both(path, B)
    assert fast == slow


def test_bad_cell_at_row_700000_is_named_and_nothing_is_stored(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """A 700,001-line file with one bad quantity: refused whole, the problem names row 700,000."""
    build(sqlite_database)
    good = f"{CUST},A000001,{IDS['AAA']['isin']},ISIN,5,USD,10.5,2026-10-30\n"
    bad = f"{CUST},A000001,{IDS['AAA']['isin']},ISIN,5x,USD,10.5,2026-10-30\n"
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEAD)
        f.write(good * 699_998)  # rows 2 .. 699,999
        f.write(bad)  # row 700,000
        f.write(good)  # row 700,001
    with pytest.raises(ImportValidationError) as e:
        load_files(sqlite_database, [path], CUST, loaded_by=OPS)
    assert e.value.lines() == ["big.csv: row 700000, column quantity: '5x' is not a number"]
    with sqlite_database.session() as s:
        assert s.scalar(select(func.count()).select_from(Statement)) == 0


def _semt(balances: str, version: int = 11) -> bytes:
    ns = f"urn:iso:std:iso:20022:tech:xsd:semt.002.001.{version:02d}"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}">\n<SctiesBalCtdyRpt>\n'
        "<StmtGnlDtls><StmtDtTm><Dt>2026-10-30</Dt></StmtDtTm><StmtBsis><Cd>SETT</Cd></StmtBsis></StmtGnlDtls>\n"
        "<SfkpgAcct><Id>OMNI</Id></SfkpgAcct>\n"
        f"<SubAcctDtls><SfkpgAcct><Id>SIMC/000001</Id></SfkpgAcct>\n{balances}</SubAcctDtls>\n"
        "</SctiesBalCtdyRpt>\n</Document>\n"
    ).encode()


def _bal(ident: str, qty: str, amounts: str = "", short: str = "") -> str:
    return (
        f"<BalForSubAcct><FinInstrmId>{ident}</FinInstrmId><AggtBal>{short}<Qty><Qty><Unit>{qty}</Unit></Qty>"
        f"</Qty></AggtBal>{amounts}</BalForSubAcct>\n"
    )


GB_ISIN = "GB00B0YBKJ7" + isin_check_digit("GB00B0YBKJ7")
SEMT_CASES = {
    "plain": _bal(
        f"<ISIN>{ISIN}</ISIN>",
        "10",
        '<InstrmCcyAmts><HldgVal><Amt Ccy="USD">1.5</Amt></HldgVal></InstrmCcyAmts>',
    ),
    "short, sign false, base currency, other id": _bal(
        f"<OthrId><Id>{SEDOL}</Id><Tp><Cd>SEDL</Cd></Tp></OthrId>",
        "7.25",
        '<AcctBaseCcyAmts><HldgVal><Amt Ccy="GBP">3</Amt><Sgn>false</Sgn></HldgVal></AcctBaseCcyAmts>',
        "<ShrtLngInd>SHOR</ShrtLngInd>",
    )
    + _bal(f"<ISIN>{GB_ISIN}</ISIN>", "-2", "", "<ShrtLngInd>LONG</ShrtLngInd>"),
    "no value, exponent quantity": _bal(f"<ISIN>{ISIN}</ISIN>", "1E+2"),
    "problems": _bal("<ISIN>US0378331006</ISIN>", "x")
    + _bal(
        f"<ISIN>{ISIN}</ISIN>",
        "1",
        '<InstrmCcyAmts><HldgVal><Amt Ccy="XXQ">1</Amt></HldgVal></InstrmCcyAmts>',
    ),
}


@pytest.mark.parametrize("case", sorted(SEMT_CASES))
def test_semt002_one_pass_equals_reference(tmp_path: Path, case: str) -> None:
    data = _semt(SEMT_CASES[case])
    prof = profile_for("SIM-CUSTODIAN-C")
    tree = Tree("s.xml", data)
    version = message_version(tree)
    try:
        ref: object = read_semt002(tree, version, prof).positions
    except ImportValidationError as exc:
        ref = exc.lines()
    fast = read_semt002_columns(Tree("s.xml", data), version, prof)
    if isinstance(ref, list):
        assert fast is None  # any problem: the reference reader words it
        with pytest.raises(ImportValidationError) as e:
            read_iso_statement(tmp_path / "s.xml", prof, data)
        assert e.value.lines() == ref
        return
    if case == "no value, exponent quantity":
        assert fast is None  # not a plain decimal: the reference reader reads it
    else:
        assert isinstance(fast, ParsedStatement) and fast.positions == ref
    assert read_iso_statement(tmp_path / "s.xml", prof, data).positions == ref


def test_columns_and_lines_are_two_views_of_one_statement() -> None:
    prof = profile_for(A)
    st = read_csv_statement(
        Path("x.csv"), replace(prof), (HEAD + f"{A},A1,{ISIN},ISIN,10.50,USD,,2026-10-30\n").encode()
    )
    (p,) = st.positions
    assert (p.row, p.account_code, p.quantity, p.market_value) == (2, "A1", Decimal("10.50"), None)
    assert st.counts() == (1, 0) and st.lines == 1
    pos, cash = st.columns()
    assert pos.data["quantity"] == ["10.50"] and len(cash) == 0
