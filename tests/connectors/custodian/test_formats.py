"""Custodian file readers: generic CSV, a TOML profile with European numbers, semt.002 and camt.053.

Each format is read from a small hand-written file and compared field by field; malformed files
are refused whole with the row (or XML line), field and reason.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.custodian.fields import FieldError, parse_decimal, parse_identifier
from connectors.custodian.profile import PROFILE_DIR, generic_profile, load_profile, profile_for
from connectors.custodian.read import read_statement
from engine.errors import ConfigurationError, ImportValidationError

AAPL_ISIN = "US0378331005"  # real ISIN of Apple Inc., check digit 5
VOD_SEDOL = "BH4HKS3"  # real SEDOL of Vodafone Group, check digit 3


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_numbers_in_any_convention() -> None:
    assert parse_decimal("1.234.567,89", decimal=",", thousands=".") == Decimal("1234567.89")
    assert parse_decimal("1.234,50-", decimal=",", thousands=".", trailing_minus=True) == Decimal("-1234.50")
    assert parse_decimal("(12.5)", parentheses=True) == Decimal("-12.5")
    assert parse_decimal("1,234.5", thousands=",") == Decimal("1234.5")
    for bad, kw in (
        ("12,34.5", {"thousands": ","}),
        ("1.5", {"decimal": ",", "thousands": " "}),
        ("abc", {}),
        ("", {}),
    ):
        with pytest.raises(FieldError):
            parse_decimal(bad, **kw)


def test_identifier_forms_and_check_digits() -> None:
    assert parse_identifier(AAPL_ISIN, "isin") == (AAPL_ISIN, "ISIN")
    assert parse_identifier("037833100", "CUSIP") == ("037833100", "CUSIP")
    assert parse_identifier(VOD_SEDOL, "SEDOL") == (VOD_SEDOL, "SEDOL")
    assert parse_identifier("vod.xlon", "TICKER") == ("VOD.XLON", "TICKER")
    for ref, kind in (
        ("US0378331006", "ISIN"),
        ("037833101", "CUSIP"),
        ("BH4HKS4", "SEDOL"),
        ("VOD", "TICKER"),
        ("X", "RIC"),
    ):
        with pytest.raises(FieldError):
            parse_identifier(ref, kind)


def test_generic_csv_positions_and_cash(tmp_path: Path) -> None:
    pos = write(
        tmp_path,
        "pos.csv",
        "custodian,account,security_id,id_type,quantity,currency,market_value,as_of\n"
        f"CUST-X,A000001,{AAPL_ISIN},ISIN,100,USD,27012.00,2026-10-30\n"
        "CUST-X,A000001,VOD.XLON,TICKER,-250.5,GBP,,2026-10-30\n",
    )
    st = read_statement(pos, generic_profile("CUST-X")).statement
    assert (st.kind, st.as_of, st.format) == ("positions", date(2026, 10, 30), "generic-csv")
    a, v = st.positions
    assert (a.row, a.account_code, a.security_ref, a.id_type, a.quantity, a.currency, a.market_value) == (
        2,
        "A000001",
        AAPL_ISIN,
        "ISIN",
        Decimal(100),
        "USD",
        Decimal("27012.00"),
    )
    assert (v.row, v.id_type, v.quantity, v.market_value) == (3, "TICKER", Decimal("-250.5"), None)
    cash = write(
        tmp_path, "cash.csv", "custodian,account,currency,amount,as_of\nCUST-X,A000001,JPY,-1500,2026-10-30\n"
    )
    c = read_statement(cash, generic_profile("CUST-X")).statement
    assert c.kind == "cash" and c.cash[0].amount == Decimal(-1500) and c.cash[0].currency == "JPY"


def test_generic_csv_refused_whole_with_row_field_reason(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.csv",
        "custodian,account,security_id,id_type,quantity,currency,market_value,as_of\n"
        f"CUST-X,A000001,{AAPL_ISIN},ISIN,100,USD,1,2026-10-30\n"
        "CUST-X,A000002,US0378331006,ISIN,10,USD,1,2026-10-30\n"
        f"CUST-X,A000003,{AAPL_ISIN},ISIN,ten,USD,1,2026-10-30\n"
        f"OTHER,A000004,{AAPL_ISIN},ISIN,1,XXX,1,30/10/2026\n",
    )
    with pytest.raises(ImportValidationError) as e:
        read_statement(bad, generic_profile("CUST-X"))
    got = {(p.row, p.column) for p in e.value.problems}
    assert got == {(3, "security_id"), (4, "quantity"), (5, "custodian"), (5, "currency"), (5, "as_of")}
    assert any("check digit" in p.reason for p in e.value.problems)


def test_simulated_profiles_load_and_map_accounts() -> None:
    b = profile_for("SIM-CUSTODIAN-B")
    assert b.format == "profile-csv" and b.simulated and b.csv.decimal == "," and b.csv.thousands == "."
    assert b.accounts.ours("4711-000123") == "A000123"
    assert b.accounts.ours("9999-000123") is None
    c = profile_for("SIM-CUSTODIAN-C")
    assert c.format == "iso20022" and c.accounts.ours("SIMC/000007") == "A000007"
    assert profile_for("SIM-CUSTODIAN-A").format == "generic-csv"
    assert profile_for("NOBODY").format == "generic-csv"


def test_profile_mistakes_are_configuration_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "x.toml", 'name = "X"\nformat = "profile-csv"\n[csv.positions]\naccount = "A"\n')
    with pytest.raises(ConfigurationError, match=r"csv\.positions"):
        load_profile(p)
    p = write(tmp_path, "y.toml", 'name = "Y"\nformat = "fixed-width"\n')
    with pytest.raises(ConfigurationError, match="format"):
        load_profile(p)


def test_profile_csv_european_numbers_signs_and_sedols(tmp_path: Path) -> None:
    prof = load_profile(PROFILE_DIR / "sim-custodian-b.toml")
    pos = write(
        tmp_path,
        "b_pos.csv",
        "Depot;Kennungsart;Kennung;Bestand;Waehrung;Kurswert;Stichtag\n"
        f"4711-000042;SEDOL;{VOD_SEDOL};1.250;GBP;1.234.567,89;30.10.2026\n"
        f"4711-000042;ISIN;{AAPL_ISIN};10,5-;EUR;2.345,60-;30.10.2026\n",
    )
    st = read_statement(pos, prof).statement
    a, b = st.positions
    assert (a.account_code, a.custodian_account, a.id_type, a.quantity, a.market_value) == (
        "A000042",
        "4711-000042",
        "SEDOL",
        Decimal(1250),
        Decimal("1234567.89"),
    )
    assert (b.quantity, b.market_value, b.currency) == (Decimal("-10.5"), Decimal("-2345.60"), "EUR")
    cash = write(
        tmp_path,
        "b_cash.csv",
        "Depot;Waehrung;Saldo;S/H;Stichtag\n4711-000042;EUR;1.000,00;S;30.10.2026\n4711-000042;USD;12,34;H;30.10.2026\n",
    )
    c = read_statement(cash, prof).statement
    assert [(x.currency, x.amount) for x in c.cash] == [
        ("EUR", Decimal("-1000.00")),
        ("USD", Decimal("12.34")),
    ]


def test_profile_csv_unmapped_account_and_bad_number_refused(tmp_path: Path) -> None:
    prof = load_profile(PROFILE_DIR / "sim-custodian-b.toml")
    bad = write(
        tmp_path,
        "b_bad.csv",
        "Depot;Kennungsart;Kennung;Bestand;Waehrung;Kurswert;Stichtag\n"
        f"ZZ-1;SEDOL;{VOD_SEDOL};1;GBP;1,00;30.10.2026\n"
        f"4711-000042;SEDOL;{VOD_SEDOL};1.5;GBP;1,00;30.10.2026\n",
    )
    with pytest.raises(ImportValidationError) as e:
        read_statement(bad, prof)
    assert {(p.row, p.column) for p in e.value.problems} == {(2, "depot"), (3, "bestand")}


SEMT_OK = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:semt.002.001.11">
<SctiesBalCtdyRpt>
<Pgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></Pgntn>
<StmtGnlDtls><StmtDtTm><Dt>2026-10-30</Dt></StmtDtTm><Frqcy><Cd>DAIL</Cd></Frqcy><UpdTp><Cd>COMP</Cd></UpdTp>
<StmtBsis><Cd>SETT</Cd></StmtBsis><ActvtyInd>true</ActvtyInd><AudtdInd>false</AudtdInd><SubAcctInd>true</SubAcctInd></StmtGnlDtls>
<SfkpgAcct><Id>SIMC/OMNIBUS</Id></SfkpgAcct>
<SubAcctDtls><SfkpgAcct><Id>SIMC/000042</Id></SfkpgAcct><ActvtyInd>true</ActvtyInd>
<BalForSubAcct><FinInstrmId><ISIN>{AAPL_ISIN}</ISIN></FinInstrmId><AggtBal><Qty><Qty><Unit>100</Unit></Qty></Qty></AggtBal>
<InstrmCcyAmts><HldgVal><Amt Ccy="USD">27012.5</Amt></HldgVal></InstrmCcyAmts></BalForSubAcct>
<BalForSubAcct><FinInstrmId><OthrId><Id>{VOD_SEDOL}</Id><Tp><Cd>SEDL</Cd></Tp></OthrId></FinInstrmId>
<AggtBal><ShrtLngInd>SHOR</ShrtLngInd><Qty><Qty><Unit>7</Unit></Qty></Qty></AggtBal></BalForSubAcct>
</SubAcctDtls>
</SctiesBalCtdyRpt>
</Document>
"""

CAMT_OK = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-10-30T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><Othr><Id>SIMC/000042</Id></Othr></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-10-30</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1500.25</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-10-30</Dt></Dt></Bal>
</Stmt>
</BkToCstmrStmt>
</Document>
"""


def test_semt002_sub_accounts_isin_and_sedol(tmp_path: Path) -> None:
    st = read_statement(write(tmp_path, "h.xml", SEMT_OK), profile_for("SIM-CUSTODIAN-C")).statement
    assert (st.format, st.kind, st.as_of) == ("semt.002.001.11", "positions", date(2026, 10, 30))
    a, v = st.positions
    assert (a.account_code, a.security_ref, a.id_type, a.quantity, a.currency, a.market_value) == (
        "A000042",
        AAPL_ISIN,
        "ISIN",
        Decimal(100),
        "USD",
        Decimal("27012.5"),
    )
    assert (v.security_ref, v.id_type, v.quantity, v.market_value) == (VOD_SEDOL, "SEDOL", Decimal(-7), None)
    assert a.row == 9  # the line of its BalForSubAcct element


def test_camt053_closing_booked_balance(tmp_path: Path) -> None:
    st = read_statement(write(tmp_path, "c.xml", CAMT_OK), profile_for("SIM-CUSTODIAN-C")).statement
    assert (st.format, st.kind, st.as_of) == ("camt.053.001.08", "cash", date(2026, 10, 30))
    assert [(c.account_code, c.currency, c.amount) for c in st.cash] == [
        ("A000042", "EUR", Decimal("-1500.25"))
    ]


def test_iso_structure_violations_refused(tmp_path: Path) -> None:
    prof = profile_for("SIM-CUSTODIAN-C")
    # AggtBal without its quantity: the message structure requires Qty.
    broken = SEMT_OK.replace(
        "<AggtBal><Qty><Qty><Unit>100</Unit></Qty></Qty></AggtBal>", "<AggtBal></AggtBal>"
    )
    with pytest.raises(ImportValidationError) as e:
        read_statement(write(tmp_path, "b1.xml", broken), prof)
    assert e.value.problems[0].row == 9 and "AggtBal" in e.value.problems[0].column
    # camt.053 elements out of order (Acct before the statement's Id): ISO's schema refuses it.
    swapped = CAMT_OK.replace("<Stmt><Id>S1</Id><Acct>", "<Stmt><Acct>").replace(
        "</Acct>", "</Acct><Id>S1</Id>"
    )
    with pytest.raises(ImportValidationError) as e:
        read_statement(write(tmp_path, "b2.xml", swapped), prof)
    assert (
        e.value.problems[0].column.endswith("Stmt/Acct") and "camt.053.001.08" in e.value.problems[0].reason
    )
    # Not well-formed.
    with pytest.raises(ImportValidationError) as e:
        read_statement(write(tmp_path, "b3.xml", SEMT_OK.replace("</SubAcctDtls>", "")), prof)
    assert "well-formed" in e.value.problems[0].reason
    # A trade-date basis statement is not what we reconcile.
    with pytest.raises(ImportValidationError, match="problem"):
        read_statement(write(tmp_path, "b4.xml", SEMT_OK.replace("<Cd>SETT</Cd>", "<Cd>TRAD</Cd>")), prof)
    # An unmapped sub-account and a bad ISIN check digit: both reported.
    with pytest.raises(ImportValidationError) as e:
        read_statement(
            write(
                tmp_path, "b5.xml", SEMT_OK.replace("SIMC/000042", "XX/1").replace(AAPL_ISIN, "US0378331006")
            ),
            prof,
        )
    assert {p.column for p in e.value.problems} == {
        "Document/SctiesBalCtdyRpt/SubAcctDtls/SfkpgAcct/Id",
        "Document/SctiesBalCtdyRpt/SubAcctDtls/BalForSubAcct/FinInstrmId/ISIN",
    }
    # camt.053 with no closing booked balance.
    with pytest.raises(ImportValidationError, match="problem"):
        read_statement(write(tmp_path, "b6.xml", CAMT_OK.replace("CLBD", "OPBD")), prof)
    # Another message altogether.
    with pytest.raises(ImportValidationError):
        read_statement(write(tmp_path, "b7.xml", CAMT_OK.replace("camt.053.001.08", "camt.052.001.08")), prof)


def test_iso_doctype_and_entities_refused(tmp_path: Path) -> None:
    # An external entity must never be read (nor crash validation): any DOCTYPE is refused whole.
    i = SEMT_OK.index("<Document")
    xxe = SEMT_OK[:i] + '<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n' + SEMT_OK[i:]
    with pytest.raises(ImportValidationError) as e:
        read_statement(
            write(tmp_path, "x.xml", xxe.replace("SIMC/000042", "&x;", 1)), profile_for("SIM-CUSTODIAN-C")
        )
    assert e.value.problems[0].column == "(xml)" and "DOCTYPE" in e.value.problems[0].reason


def test_cli_load_prints_row_field_reason_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workstation.cli.main import main

    bad = write(
        tmp_path,
        "bad.csv",
        "custodian,account,security_id,id_type,quantity,currency,market_value,as_of\n"
        f"CUST-X,A000001,{AAPL_ISIN},ISIN,1O0,USD,,2026-10-30\n",
    )
    assert (
        main(
            [
                "--db",
                f"sqlite:///{tmp_path / 'b.db'}",
                "reconcile",
                "load",
                str(bad),
                "--custodian",
                "CUST-X",
                "--user",
                "ops",
            ]  # a bad file is refused before anyone is asked for a password
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.csv: row 2, column quantity: '1O0' is not a number" in err
    assert "nothing was written" in err
