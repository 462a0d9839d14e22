"""Every ISO 20022 version we claim, read from files made by libraries generated from ISO's schemas.

camt.053.001.02 to .12 are built with pyiso20022 and semt.002.001.02, .001.11 and .002.11 with
python-iso20022 (xsdata classes generated from the ISO XSDs), serialized by xsdata: element order,
namespace prefixes (ns0:) and number formats are theirs, not our writer's. camt.053 files also pass
ISO's own schema of their version (resources/custodian/iso20022) on the way in. camt.053.001.13 and
.14 (no generated library ships them) and semt.002.001.03 to .10 and .12 (no library at all) are
tested with files written here, the camt.053 ones checked by ISO's schema.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.custodian.iso_versions import CAMT053, SEMT002
from connectors.custodian.profile import generic_profile, profile_for
from connectors.custodian.read import read_statement
from engine.errors import ImportValidationError
from tests.connectors.custodian.independent import camt053, document

AAPL_ISIN = "US0378331005"
VOD_SEDOL = "BH4HKS3"
BOND_ISIN = "US91282CJL55"  # a US Treasury note ISIN form, check digit 5
AS_OF = "2026-10-30"


def _read(tmp_path: Path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(data)
    return read_statement(path, profile_for("SIM-CUSTODIAN-C")).statement


@pytest.mark.parametrize("version", range(2, 13))
def test_camt053_from_pyiso20022_every_version(tmp_path: Path, version: int) -> None:
    data = camt053(version, "SIMC/000042", "1500.25", "EUR", AS_OF, debit=True)
    assert b"ns0:Document" in data  # xsdata's own prefixing, not our writer's default namespace
    st = _read(tmp_path, f"camt{version}.xml", data)
    assert st.format == f"camt.053.001.{version:02d}" and st.kind == "cash" and st.as_of == date(2026, 10, 30)
    assert [(c.account_code, c.custodian_account, c.currency, c.amount) for c in st.cash] == [
        ("A000042", "SIMC/000042", "EUR", Decimal("-1500.25"))
    ]


@pytest.mark.parametrize("version", [13, 14])
def test_camt053_newest_versions_checked_by_iso_schema(tmp_path: Path, version: int) -> None:
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M</MsgId><CreDtTm>{AS_OF}T18:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>USD</Ccy></Acct>"
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">12.5</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><DtTm>{AS_OF}T23:59:00</DtTm></Dt></Bal></Stmt>"
        "</BkToCstmrStmt></Document>"
    )
    path = tmp_path / "c.xml"
    path.write_text(xml, encoding="utf-8")
    st = read_statement(path, generic_profile("BANK")).statement
    assert st.format == f"camt.053.001.{version}"
    assert [(c.account_code, c.amount) for c in st.cash] == [("DE89370400440532013000", Decimal("12.5"))]
    # ISO's schema of that version refuses what it does not allow (here: a balance with no date).
    path.write_text(xml.replace(f"<Dt><DtTm>{AS_OF}T23:59:00</DtTm></Dt>", ""), encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        read_statement(path, generic_profile("BANK"))
    assert f"camt.053.001.{version}" in e.value.problems[0].reason


def _semt_v11_spec() -> dict:  # type: ignore[type-arg]
    """A V11 report: omnibus with two sub-accounts; a share, a bond by face amount, a short by SEDOL."""

    def qty(tag: str, value: str) -> dict:  # type: ignore[type-arg]
        return {"Qty": {"Qty": {tag: value}}}  # AggtBal/Qty/Qty/Qty/Unit

    share = {
        "FinInstrmId": {"ISIN": AAPL_ISIN, "Desc": "APPLE INC"},
        "AggtBal": {"ShrtLngInd": "LONG", "Qty": qty("Unit", "100")},
        "PricDtls": [
            {
                "Tp": {"Cd": "MRKT"},
                "Val": {"Amt": {"value": "270.125", "Ccy": "USD"}},
                "ValTp": {"Yldd": False},
            }
        ],
        "AcctBaseCcyAmts": {"HldgVal": {"Amt": {"value": "23480.61", "Ccy": "EUR"}, "Sgn": True}},
        "InstrmCcyAmts": {"HldgVal": {"Amt": {"value": "27012.5", "Ccy": "USD"}, "Sgn": True}},
    }
    bond = {
        "FinInstrmId": {"ISIN": BOND_ISIN},
        "AggtBal": {"ShrtLngInd": "LONG", "Qty": qty("FaceAmt", "250000")},
    }
    short = {
        "FinInstrmId": {"OthrId": [{"Id": VOD_SEDOL, "Tp": {"Cd": "SEDL"}}]},
        "AggtBal": {"ShrtLngInd": "SHOR", "Qty": qty("Unit", "7")},
        "InstrmCcyAmts": {"HldgVal": {"Amt": {"value": "4.61", "Ccy": "GBP"}, "Sgn": False}},
    }
    return {
        "SctiesBalCtdyRpt": {
            "Pgntn": {"PgNb": "1", "LastPgInd": True},
            "StmtGnlDtls": {
                "StmtDtTm": {"Dt": AS_OF},
                "Frqcy": {"Cd": "DAIL"},
                "UpdTp": {"Cd": "COMP"},
                "StmtBsis": {"Cd": "SETT"},
                "ActvtyInd": True,
                "SubAcctInd": True,
            },
            "SfkpgAcct": {"Id": "SIMC/OMNIBUS"},
            "SubAcctDtls": [
                {"SfkpgAcct": {"Id": "SIMC/000042"}, "ActvtyInd": True, "BalForSubAcct": [share, bond]},
                {"SfkpgAcct": {"Id": "SIMC/000043"}, "ActvtyInd": True, "BalForSubAcct": [short]},
            ],
        }
    }


EXPECTED = [
    ("A000042", AAPL_ISIN, "ISIN", Decimal(100), "USD", Decimal("27012.5")),
    ("A000042", BOND_ISIN, "ISIN", Decimal(250000), None, None),
    ("A000043", VOD_SEDOL, "SEDOL", Decimal(-7), "GBP", Decimal("-4.61")),
]


def _positions(st):  # type: ignore[no-untyped-def]
    return [
        (p.account_code, p.security_ref, p.id_type, p.quantity, p.currency, p.market_value)
        for p in st.positions
    ]


@pytest.mark.parametrize(
    ("module", "root", "name"),
    [
        ("python_iso20022.semt.semt_002_001_11.models", "Semt00200111", "semt.002.001.11"),
        ("python_iso20022.semt.semt_002_002_11.models", "Semt00200211", "semt.002.002.11"),
    ],
)
def test_semt002_v11_from_python_iso20022(tmp_path: Path, module: str, root: str, name: str) -> None:
    data = document(module, root, _semt_v11_spec())
    assert b"<ns0:Qty><ns0:Qty><ns0:Qty><ns0:Unit>100</ns0:Unit>" in data  # V11's nesting, as generated
    st = _read(tmp_path, "h11.xml", data)
    assert st.format == name
    assert st.as_of == date(2026, 10, 30) and _positions(st) == EXPECTED


def test_semt002_v02_custody_statement_of_holdings_from_python_iso20022(tmp_path: Path) -> None:
    def acct(theirs: str) -> dict:  # type: ignore[type-arg]
        return {"Id": {"SmplId": {"Prtry": {"Id": theirs}}}}

    share = {
        "AggtQty": {"Qty": {"Unit": "100"}},
        "HldgVal": [{"value": "27012.5", "Ccy": "USD"}, {"value": "23480.61", "Ccy": "EUR"}],
        "FinInstrmDtls": {"Id": {"ISIN": AAPL_ISIN}, "Nm": "APPLE INC"},
    }
    sedol = {"AggtQty": {"Qty": {"Unit": "7"}}, "FinInstrmDtls": {"Id": {"SEDOL": VOD_SEDOL}}}
    spec = {
        "CtdyStmtOfHldgsV02": {
            "MsgId": {"Id": "MSG-1", "CreDtTm": f"{AS_OF}T18:00:00"},
            "MsgPgntn": {"PgNb": "1", "LastPgInd": True},
            "StmtGnlDtls": {
                "StmtDtTm": {"Dt": AS_OF},
                "Frqcy": {"FrqcyAsCd": "DAIL"},
                "UpdTp": {"StmtUpdTpAsCd": "COMP"},
                "ActvtyInd": True,
                "StmtBsis": {"StmtBsisAsCd": "SETT"},
            },
            "AcctDtls": acct("SIMC/OMNIBUS"),
            "SubAcctDtls": [
                {**acct("SIMC/000042"), "ActvtyInd": True, "BalForSubAcct": [share]},
                {  # the account by identification and purpose rather than a simple id
                    "Id": {"IdAndPurp": {"Id": {"Prtry": {"Id": "SIMC/000043"}}, "Purp": "MARG"}},
                    "ActvtyInd": True,
                    "BalForSubAcct": [sedol],
                },
            ],
        }
    }
    data = document("python_iso20022.semt.semt_002_001_02.models", "Semt00200102", spec)
    st = _read(tmp_path, "h02.xml", data)
    assert st.format == "semt.002.001.02" and st.as_of == date(2026, 10, 30)
    assert _positions(st) == [
        ("A000042", AAPL_ISIN, "ISIN", Decimal(100), "USD", Decimal("27012.5")),
        ("A000043", VOD_SEDOL, "SEDOL", Decimal(7), None, None),
    ]
    # A trade-date statement is not what we reconcile; the file is refused with the element's path.
    with pytest.raises(ImportValidationError) as e:
        _read(tmp_path, "t02.xml", data.replace(b">SETT<", b">TRAD<"))
    assert e.value.problems[0].column == "StmtGnlDtls/StmtBsis" and "'TRAD'" in e.value.problems[0].reason


@pytest.mark.parametrize("version", [3, 4, 5, 6, 7, 8, 9, 10, 12])
@pytest.mark.parametrize("nesting", [2, 3])
def test_semt002_other_versions_same_layout(tmp_path: Path, version: int, nesting: int) -> None:
    # No library ships these versions: the V11 document, under their namespace, with the quantity
    # nested as up to V10 (AggtBal/Qty/Qty/Unit) and as from V11 (AggtBal/Qty/Qty/Qty/Unit).
    data = document("python_iso20022.semt.semt_002_001_11.models", "Semt00200111", _semt_v11_spec())
    data = data.replace(b"semt.002.001.11", f"semt.002.001.{version:02d}".encode())
    if nesting == 2:
        data = data.replace(b"<ns0:Qty><ns0:Qty><ns0:Qty>", b"<ns0:Qty><ns0:Qty>")
        data = data.replace(b"</ns0:Qty></ns0:Qty></ns0:Qty>", b"</ns0:Qty></ns0:Qty>")
        assert data.count(b"<ns0:Qty><ns0:Qty><ns0:Unit>") == 2
    st = _read(tmp_path, f"h{version}.xml", data)
    assert st.format == f"semt.002.001.{version:02d}" and _positions(st) == EXPECTED


def test_semt002_missing_quantity_and_bad_values_named(tmp_path: Path) -> None:
    data = document("python_iso20022.semt.semt_002_001_11.models", "Semt00200111", _semt_v11_spec())
    bad = data.replace(b"<ns0:Unit>100</ns0:Unit>", b"<ns0:Unit>1O0</ns0:Unit>").replace(
        b'Ccy="GBP"', b'Ccy="GBX1"'
    )
    with pytest.raises(ImportValidationError) as e:
        _read(tmp_path, "bad.xml", bad)
    reasons = {(p.column.rsplit("/", 2)[-2:][0], p.reason) for p in e.value.problems}
    assert ("Qty", "'1O0' is not a decimal number") in reasons
    assert any("'GBX1' is not an ISO 4217" in r for _, r in reasons)


@pytest.mark.parametrize(
    ("namespace", "says"),
    [
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.01", "camt.053 version 'camt.053.001.01'"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.99", "camt.053 version 'camt.053.001.99'"),
        ("urn:iso:std:iso:20022:tech:xsd:semt.002.001.13", "semt.002 version 'semt.002.001.13'"),
        (
            "urn:iso:std:iso:20022:tech:xsd:camt.052.001.08",
            "'urn:iso:std:iso:20022:tech:xsd:camt.052.001.08' is not",
        ),
        ("", "no ISO 20022 namespace"),
    ],
)
def test_unknown_version_is_one_clear_error_naming_the_namespace(
    tmp_path: Path, namespace: str, says: str
) -> None:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    path = tmp_path / "x.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<Document{xmlns}><BkToCstmrStmt/></Document>\n', encoding="utf-8"
    )
    with pytest.raises(ImportValidationError) as e:
        read_statement(path, profile_for("SIM-CUSTODIAN-C"))
    (problem,) = e.value.problems
    assert problem.row == 2 and problem.column == "Document/@xmlns" and says in problem.reason
    assert "we read camt.053.001.02 to .14, semt.002.001.02 to .12" in problem.reason


def test_version_table_covers_what_we_claim() -> None:
    assert [v.name for v in CAMT053] == [f"camt.053.001.{n:02d}" for n in range(2, 15)]
    assert all(v.schema is not None and v.schema.is_file() for v in CAMT053)
    assert [v.name for v in SEMT002] == [f"semt.002.001.{n:02d}" for n in range(2, 13)] + ["semt.002.002.11"]


def test_a_byte_order_mark_before_the_xml_is_fine(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + camt053(8, "SIMC/000042", "10", "USD", AS_OF)
    st = _read(tmp_path, "bom.xml", data)
    assert st.format == "camt.053.001.08" and st.cash[0].amount == Decimal(10)
