"""Activity files in every format we read, including camt.053 made by an independent implementation.

camt.053.001.02 to .12 entries (every version) are built with pyiso20022 (xsdata classes generated from ISO's
schemas, serialized by xsdata: element order, prefixes and number formats are theirs), pass ISO's
own schema of their version on the way in, and are booked into a real book. camt.053.001.13 and
.14 (no generated library ships them) are written here and checked by ISO's schema. Custodian B's
own CSV layout goes through its shipped profile.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connectors.custodian.activity import read_activity_file
from engine.activity.load import book_activity_file
from engine.errors import ImportValidationError
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import CashBalance
from tests.connectors.custodian.independent import document
from tests.engine.reconcile.minibook import IDS, OPS, build

C = "SIM-CUSTODIAN-C"
B = "SIM-CUSTODIAN-B"
AAA_ISIN = IDS["AAA"]["isin"]
ON = "2026-11-02"


def _amt(value: str, ccy: str = "USD") -> dict[str, str]:
    return {"value": value, "Ccy": ccy}


def _entry(
    version: int, ref: str, value: str, credit: bool, code: tuple[str, str, str], **tx: Any
) -> dict[str, Any]:
    ntry: dict[str, Any] = {
        "Amt": _amt(value, tx.pop("ccy", "USD")),
        "CdtDbtInd": "CRDT" if credit else "DBIT",
        "Sts": "BOOK" if version < 7 else {"Cd": "BOOK"},
        "BookgDt": {"Dt": ON},
        "ValDt": {"Dt": tx.pop("value_date", ON)},
        "AcctSvcrRef": ref,
        "BkTxCd": {"Domn": {"Cd": code[0], "Fmly": {"Cd": code[1], "SubFmlyCd": code[2]}}},
    }
    if tx:
        if version >= 3:  # from .03 on the transaction repeats its amount and direction
            tx = {"Amt": ntry["Amt"], "CdtDbtInd": ntry["CdtDbtInd"], **tx}
        ntry["NtryDtls"] = [{"TxDtls": [tx]}]
    return ntry


def camt053_activity(version: int, account: str = "SIMC/000001") -> bytes:
    """A day's cash activity of one USD account: a dividend net of withholding, a deposit, a
    custody fee, a withdrawal and an FX conversion's USD leg (pyiso20022, camt.053.001.<version>)."""
    entries = [
        _entry(version, "C-DIV-1", "20.40", True, ("SECU", "CORP", "DVCA"),
               AmtDtls={"InstdAmt": {"Amt": _amt("24.00")}}, FinInstrmId={"ISIN": AAA_ISIN},
               Tax={"TtlTaxAmt": _amt("3.60")}),
        _entry(version, "C-DEP-1", "10000.00", True, ("PMNT", "RCDT", "ESCT")),
        _entry(version, "C-FEE-1", "12.34", False, ("SECU", "CUST", "CHRG")),
        _entry(version, "C-WDR-1", "2500", False, ("PMNT", "ICDT", "ESCT")),
        _entry(version, "C-FX-1", "1270.50", False, ("FORX", "SPOT", "OTHR"), value_date="2026-11-04",
               AmtDtls={"CntrValAmt": {"Amt": _amt("1000.00", "GBP")}}),
    ]  # fmt: skip
    bal = {"Tp": {"CdOrPrtry": {"Cd": "CLBD"}}, "Amt": _amt("7737.56"), "CdtDbtInd": "CRDT", "Dt": {"Dt": ON}}
    stmt = {
        "Id": "S1", "CreDtTm": f"{ON}T18:00:00", "Acct": {"Id": {"Othr": {"Id": account}}, "Ccy": "USD"},
        "Bal": [bal], "Ntry": entries,
    }  # fmt: skip
    report = {"GrpHdr": {"MsgId": f"M{version}", "CreDtTm": f"{ON}T18:00:00"}, "Stmt": [stmt]}
    n = f"{version:02d}"
    return document(
        f"pyiso20022.camt.camt_053_001_{n}.camt_053_001_{n}", "Document", {"BkToCstmrStmt": report}
    )


EXPECTED = [
    ("C-DIV-1", "dividend", "USD", Decimal("20.40"), Decimal("24.00"), Decimal("3.60")),
    ("C-DEP-1", "deposit", "USD", Decimal("10000.00"), None, None),
    ("C-FEE-1", "fee", "USD", Decimal("12.34"), None, None),
    ("C-WDR-1", "withdrawal", "USD", Decimal("2500"), None, None),
    ("C-FX-1", "fx", "GBP", Decimal("1000.00"), None, None),
]


@pytest.mark.parametrize("version", range(2, 13))
def test_camt053_entries_from_pyiso20022(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"camt{version}.xml"
    path.write_bytes(camt053_activity(version))
    assert b"ns0:Document" in path.read_bytes()  # xsdata's own writing, not ours
    parsed = read_activity_file(path, C)
    assert parsed.format == f"camt.053.001.{version:02d}" and parsed.custodian == C
    got = [(r.reference, r.kind, r.currency, r.amount, r.gross, r.withholding) for r in parsed.rows]
    assert got == EXPECTED
    div, fx = parsed.rows[0], parsed.rows[4]
    assert (div.account, div.id_type, div.security_ref, div.trade_date) == (
        "A000001",
        "ISIN",
        AAA_ISIN,
        date(2026, 11, 2),
    )
    assert (fx.counter_currency, fx.counter_amount, fx.settle_date) == (
        "USD",
        Decimal("1270.50"),
        date(2026, 11, 4),
    )


@pytest.mark.parametrize("version", [2, 8])
def test_camt053_activity_books_into_the_ledger(database: Database, tmp_path: Path, version: int) -> None:
    build(database)
    with database.transaction() as s:
        s.execute(update(Account).values(custodian=C))
    path = tmp_path / "c.xml"
    path.write_bytes(camt053_activity(version))
    parsed = read_activity_file(path, C)
    with database.transaction() as s:
        r = book_activity_file(s, parsed, custodian=C, username=OPS, source_name=path.name,
                               content_hash=parsed.content_hash)  # fmt: skip
    assert r.counts == {"dividend": 1, "fee": 1, "deposit": 1, "withdrawal": 1, "fx": 1}
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.code == "A000001")).one()
        cash = {b.currency: Decimal(b.settled) + Decimal(b.unsettled) for b in
                s.scalars(select(CashBalance).where(CashBalance.account_id == acct.id))}  # fmt: skip
    # 20.40 + 10000 - 12.34 - 2500 - 1270.50 = 6237.56 USD; 1000.00 GBP.
    assert cash == {"USD": Decimal("6237.56"), "GBP": Decimal("1000.00")}


@pytest.mark.parametrize("version", [13, 14])
def test_camt053_newest_versions_checked_by_iso_schema(tmp_path: Path, version: int) -> None:
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    ntry = (
        '<Ntry><Amt Ccy="USD">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        f"<BookgDt><Dt>{ON}</Dt></BookgDt><ValDt><Dt>{ON}</Dt></ValDt><AcctSvcrRef>N-1</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd></Ntry>"
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M</MsgId><CreDtTm>{ON}T18:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S</Id><Acct><Id><Othr><Id>SIMC/000001</Id></Othr></Id><Ccy>USD</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">50</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{ON}</Dt></Dt></Bal>{ntry}</Stmt></BkToCstmrStmt></Document>"
    )
    path = tmp_path / "c.xml"
    path.write_text(xml, encoding="utf-8")
    parsed = read_activity_file(path, C)
    assert [(r.reference, r.kind, r.amount) for r in parsed.rows] == [("N-1", "deposit", Decimal("50.00"))]
    path.write_text(xml.replace("<Sts><Cd>BOOK</Cd></Sts>", ""), encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, C)
    assert f"camt.053.001.{version}" in e.value.problems[0].reason


@pytest.mark.parametrize("version", [4, 8, 12])
def test_camt053_withholding_given_as_the_tax_of_charges(tmp_path: Path, version: int) -> None:
    """Some custodians report the withholding as a charge record's tax, not as TxDtls/Tax."""
    div = _entry(version, "C-DIV-2", "85.00", True, ("SECU", "CORP", "DVCA"),
                 AmtDtls={"InstdAmt": {"Amt": _amt("100.00")}}, FinInstrmId={"ISIN": AAA_ISIN},
                 Chrgs={"Rcrd": [{"Amt": _amt("15.00"), "Tax": {"Amt": _amt("15.00")}}]})  # fmt: skip
    bal = {"Tp": {"CdOrPrtry": {"Cd": "CLBD"}}, "Amt": _amt("85.00"), "CdtDbtInd": "CRDT", "Dt": {"Dt": ON}}
    stmt = {
        "Id": "S1",
        "CreDtTm": f"{ON}T18:00:00",
        "Acct": {"Id": {"Othr": {"Id": "SIMC/000001"}}},
        "Bal": [bal],
        "Ntry": [div],
    }
    report = {"GrpHdr": {"MsgId": "M", "CreDtTm": f"{ON}T18:00:00"}, "Stmt": [stmt]}
    n = f"{version:02d}"
    path = tmp_path / "c.xml"
    path.write_bytes(
        document(f"pyiso20022.camt.camt_053_001_{n}.camt_053_001_{n}", "Document", {"BkToCstmrStmt": report})
    )
    [row] = read_activity_file(path, C).rows
    assert (row.kind, row.gross, row.withholding, row.amount) == (
        "dividend",
        Decimal("100.00"),
        Decimal("15.00"),
        Decimal("85.00"),
    )


def test_unknown_version_and_holdings_messages_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "c.xml"
    path.write_bytes(camt053_activity(8).replace(b"camt.053.001.08", b"camt.053.001.99"))
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, C)
    assert len(e.value.problems) == 1 and "'camt.053.001.99'" in e.value.problems[0].reason
    path.write_text('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:semt.002.001.11"/>', encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, C)
    assert "holdings statement, not activity" in e.value.problems[0].reason


def test_camt053_problems_name_line_and_element(tmp_path: Path) -> None:
    data = camt053_activity(8).replace(b"<ns0:SubFmlyCd>CHRG", b"<ns0:SubFmlyCd>ZZZZ")
    data = data.replace(b"SIMC/000001", b"ELSEWHERE/1")
    path = tmp_path / "c.xml"
    path.write_bytes(data)
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, C)
    assert [p.column for p in e.value.problems] == ["Stmt/Acct/Id"]
    assert "'ELSEWHERE/1' is not mapped" in e.value.problems[0].reason
    path.write_bytes(camt053_activity(8).replace(b"<ns0:SubFmlyCd>CHRG", b"<ns0:SubFmlyCd>ZZZZ"))
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, C)
    assert [p.column for p in e.value.problems] == ["Ntry/BkTxCd"]
    assert "'SECU/CUST/ZZZZ' is not mapped" in e.value.problems[0].reason


def test_custodian_b_profile_csv(tmp_path: Path) -> None:
    sedol = IDS["VODX.L"]["sedol"]
    text = (
        "Buchungsreferenz;Depot;Vorgang;Handelstag;Valuta;Kennungsart;Kennung;Stueck;Kurs;Provision;Waehrung;"
        "Betrag;Brutto;Quellensteuer;Einstandswert;Anschaffungsdatum;Text\n"
        f"B-1;4711-000002;DIVIDENDE;02.11.2026;04.11.2026;SEDOL;{sedol};;;;GBP;1.234,56;1.234,56;0,00;;;Dividende\n"
        f"B-2;4711-000002;VERKAUF;02.11.2026;04.11.2026;SEDOL;{sedol};1.000;2,5;9,95;GBP;;;;;;\n"
        f"B-3;4711-000002;EINLIEFERUNG;02.11.2026;;SEDOL;{sedol};10;;;;;;;15,00;01.02.2019;\n"
        "B-4;4711-000002;GEBUEHR;02.11.2026;;;;;;;GBP;12,00-;;;;;Depotgebuehr\n"
    )
    path = tmp_path / "umsaetze.csv"
    path.write_text(text, encoding="utf-8")
    parsed = read_activity_file(path, B)
    assert parsed.format == "profile-csv"
    got = [(r.reference, r.account, r.kind, r.quantity, r.price, r.commission, r.amount, r.settle_date, r.acquired)
           for r in parsed.rows]  # fmt: skip
    assert got == [
        ("B-1", "A000002", "dividend", None, None, Decimal(0), Decimal("1234.56"), date(2026, 11, 4), None),
        (
            "B-2",
            "A000002",
            "sell",
            Decimal(1000),
            Decimal("2.5"),
            Decimal("9.95"),
            None,
            date(2026, 11, 4),
            None,
        ),
        ("B-3", "A000002", "transfer_in", Decimal(10), None, Decimal(0), None, None, date(2019, 2, 1)),
        ("B-4", "A000002", "fee", None, None, Decimal(0), Decimal("12.00"), None, None),
    ]
    path.write_text(
        text.replace("VERKAUF", "STORNO").replace("4711-000002;GEBUEHR", "9999;GEBUEHR"), encoding="utf-8"
    )
    with pytest.raises(ImportValidationError) as e:
        read_activity_file(path, B)
    assert [(p.row, p.column) for p in e.value.problems] == [(3, "Vorgang"), (5, "Depot")]
