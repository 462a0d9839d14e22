"""camt.053 reversals and batches, in files built by pyiso20022 (xsdata classes generated from ISO's
schemas) in .001.02, .001.04 and .001.08, read and booked into a real book.

A batch (one Ntry, several TxDtls) books each transaction with its own amount and key; a reversal
(RvslInd, or a reversal transaction code such as PMNT/RCDT/RRTN) cancels the line it names by its
AcctSvcrRef or EndToEndId, once, or the file is refused naming row, element and reason.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connectors.custodian.activity import read_activity_file
from engine.accounting.tables import CashMovement
from engine.activity.load import ActivityLoadResult, book_activity_file
from engine.activity.tables import ActivityLine
from engine.errors import ImportValidationError
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import CashBalance
from tests.connectors.custodian.independent import document
from tests.engine.reconcile.minibook import OPS, build

C = "SIM-CUSTODIAN-C"
D = Decimal
DEPOSIT = ("PMNT", "RCDT", "ESCT")
FEE = ("SECU", "CUST", "CHRG")


def _amt(value: str) -> dict[str, str]:
    return {"value": value, "Ccy": "USD"}


def _tx(version: int, value: str, credit: bool, **refs: str) -> dict[str, Any]:
    tx: dict[str, Any] = {"Refs": refs} if refs else {}
    if version >= 3:  # from .03 on a transaction has its own amount and direction
        return {**tx, "Amt": _amt(value), "CdtDbtInd": "CRDT" if credit else "DBIT"}
    return {**tx, "AmtDtls": {"TxAmt": {"Amt": _amt(value)}}}


def _ntry(
    version: int, ref: str, value: str, credit: bool, code: tuple[str, str, str], on: str,
    txs: list[dict[str, Any]] | None = None, reversal: bool = False, batch: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    ntry: dict[str, Any] = {"Amt": _amt(value), "CdtDbtInd": "CRDT" if credit else "DBIT"}
    if reversal:
        ntry["RvslInd"] = True
    ntry.update({
        "Sts": "BOOK" if version < 7 else {"Cd": "BOOK"}, "BookgDt": {"Dt": on}, "ValDt": {"Dt": on},
        "AcctSvcrRef": ref, "BkTxCd": {"Domn": {"Cd": code[0], "Fmly": {"Cd": code[1], "SubFmlyCd": code[2]}}},
    })  # fmt: skip
    if txs:
        details: dict[str, Any] = {"TxDtls": txs}
        if batch is not None:
            details = {"Btch": {"NbOfTxs": str(batch)}, **details}
        ntry["NtryDtls"] = [details]
    return ntry


def _file(tmp_path: Path, name: str, version: int, on: str, entries: list[dict[str, Any]]) -> Path:
    bal = {"Tp": {"CdOrPrtry": {"Cd": "CLBD"}}, "Amt": _amt("0"), "CdtDbtInd": "CRDT", "Dt": {"Dt": on}}
    stmt = {"Id": name, "CreDtTm": f"{on}T18:00:00", "Acct": {"Id": {"Othr": {"Id": "SIMC/000001"}}, "Ccy": "USD"},
            "Bal": [bal], "Ntry": entries}  # fmt: skip
    report = {"GrpHdr": {"MsgId": name, "CreDtTm": f"{on}T18:00:00"}, "Stmt": [stmt]}
    n = f"{version:02d}"
    path = tmp_path / f"{name}.xml"
    path.write_bytes(
        document(f"pyiso20022.camt.camt_053_001_{n}.camt_053_001_{n}", "Document", {"BkToCstmrStmt": report})
    )
    return path


def _day1(tmp_path: Path, version: int) -> Path:
    v = version
    return _file(tmp_path, "day1", v, "2026-11-02", [
        # A batch of three received transfers (350.00): keys C-B1-A (its own AcctSvcrRef), and the
        # entry's reference with the end-to-end id: C-BATCH-1/E2E-B, C-BATCH-1/E2E-C.
        _ntry(v, "C-BATCH-1", "350.00", True, DEPOSIT, "2026-11-02", batch=3, txs=[
            _tx(v, "100.00", True, AcctSvcrRef="C-B1-A", EndToEndId="E2E-A"),
            _tx(v, "200.00", True, EndToEndId="E2E-B"),
            _tx(v, "50.00", True, EndToEndId="E2E-C"),
        ]),
        _ntry(v, "C-DEP-9", "1000.00", True, DEPOSIT, "2026-11-02", txs=[_tx(v, "1000.00", True, EndToEndId="E2E-D")]),
        _ntry(v, "C-FEE-9", "12.34", False, FEE, "2026-11-02"),
        # The fee reversed in the same file (a credit, RvslInd), naming it by its AcctSvcrRef.
        _ntry(v, "C-RV-1", "12.34", True, FEE, "2026-11-02", reversal=True,
              txs=[_tx(v, "12.34", True, AcctSvcrRef="C-FEE-9")]),
    ])  # fmt: skip


def _day2(tmp_path: Path, version: int) -> Path:
    v = version
    return _file(tmp_path, "day2", v, "2026-11-03", [
        # The deposit returned (RvslInd), named by its end-to-end id only.
        _ntry(v, "C-RV-2", "1000.00", False, DEPOSIT, "2026-11-03", reversal=True,
              txs=[_tx(v, "1000.00", False, EndToEndId="E2E-D")]),
        # The batch's second transfer returned: no RvslInd, the reversal code PMNT/RCDT/RRTN.
        _ntry(v, "C-RV-3", "200.00", False, ("PMNT", "RCDT", "RRTN"), "2026-11-03",
              txs=[_tx(v, "200.00", False, EndToEndId="E2E-B")]),
    ])  # fmt: skip


@pytest.fixture
def book(database: Database) -> Database:
    build(database)
    with database.transaction() as s:
        s.execute(update(Account).values(custodian=C))
    return database


def _load(db: Database, path: Path) -> ActivityLoadResult:
    parsed = read_activity_file(path, C)
    with db.transaction() as s:
        return book_activity_file(s, parsed, custodian=C, username=OPS, source_name=path.name,
                                  content_hash=parsed.content_hash)  # fmt: skip


def _usd(db: Database) -> Decimal:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == "A000001")).one()
        bal = s.scalars(
            select(CashBalance).where(CashBalance.account_id == aid, CashBalance.currency == "USD")
        ).first()
        return D(0) if bal is None else D(bal.settled) + D(bal.unsettled or 0)


@pytest.mark.parametrize("version", [2, 4, 8])
def test_batches_book_each_transaction_and_reversals_cancel_their_original_once(
    book: Database, tmp_path: Path, version: int
) -> None:
    day1 = _day1(tmp_path, version)
    parsed = read_activity_file(day1, C)
    assert [(r.reference, r.kind, r.amount, r.end_to_end, r.reverses) for r in parsed.rows] == [
        ("C-B1-A", "deposit", D("100.00"), "E2E-A", ()),
        ("C-BATCH-1/E2E-B", "deposit", D("200.00"), "E2E-B", ()),
        ("C-BATCH-1/E2E-C", "deposit", D("50.00"), "E2E-C", ()),
        ("C-DEP-9", "deposit", D("1000.00"), "E2E-D", ()),
        ("C-FEE-9", "fee", D("12.34"), None, ()),
        ("C-RV-1", "reversal", D("12.34"), None, ("C-FEE-9",)),
    ]
    before = _usd(book)
    r1 = _load(book, day1)
    assert r1.counts == {"deposit": 4, "fee": 1, "reversal": 1}
    # +100 + 200 + 50 + 1000 - 12.34 + 12.34 = 1350.00
    assert _usd(book) - before == D("1350.00")
    r2 = _load(book, _day2(tmp_path, version))
    assert r2.counts == {"reversal": 2}
    # 1350.00 - 1000.00 - 200.00 = 150.00: the three transfers less the returned one.
    assert _usd(book) - before == D("150.00")
    with book.session() as s:
        lines = {ln.reference: (ln.kind, ln.external, ln.reverses) for ln in s.scalars(select(ActivityLine))}
        flows = sorted(
            D(m.amount) for m in s.scalars(select(CashMovement).where(CashMovement.kind == "flow"))
        )
    assert {k: v for k, v in lines.items() if v[0] == "reversal"} == {
        "C-RV-1": ("reversal", False, "C-FEE-9"),  # a fee refunded: not an external flow
        "C-RV-2": ("reversal", True, "C-DEP-9"),  # a deposit returned: a flow back out
        "C-RV-3": ("reversal", True, "C-BATCH-1/E2E-B"),
    }
    assert flows == [D(-1000), D(-200), D(50), D(100), D(200), D(1000)]
    # The same file again: already loaded; the same reversal in another file: skipped.
    assert _load(book, _day2(tmp_path, version)).already_loaded
    v = version
    again = _file(tmp_path, "day3", v, "2026-11-03", [
        _ntry(v, "C-RV-2", "1000.00", False, DEPOSIT, "2026-11-03", reversal=True,
              txs=[_tx(v, "1000.00", False, EndToEndId="E2E-D")]),
    ])  # fmt: skip
    assert (_load(book, again).skipped, _usd(book) - before) == (1, D("150.00"))


@pytest.mark.parametrize("version", [2, 8])
def test_a_reversal_without_its_original_or_reversing_twice_is_refused(
    book: Database, tmp_path: Path, version: int
) -> None:
    _load(book, _day1(tmp_path, version))
    _load(book, _day2(tmp_path, version))
    before = _usd(book)
    v = version
    bad = _file(tmp_path, "bad", v, "2026-11-04", [
        _ntry(v, "C-RV-4", "1000.00", False, DEPOSIT, "2026-11-04", reversal=True,
              txs=[_tx(v, "1000.00", False, EndToEndId="E2E-D")]),  # reversed by C-RV-2 already
        _ntry(v, "C-RV-5", "5.00", False, DEPOSIT, "2026-11-04", reversal=True,
              txs=[_tx(v, "5.00", False, EndToEndId="NOPE")]),  # no such original
        _ntry(v, "C-RV-6", "49.00", False, DEPOSIT, "2026-11-04", reversal=True,
              txs=[_tx(v, "49.00", False, EndToEndId="E2E-C")]),  # the original was 50.00
        _ntry(v, "C-RV-7", "100.00", True, DEPOSIT, "2026-11-04", reversal=True,
              txs=[_tx(v, "100.00", True, AcctSvcrRef="C-B1-A")]),  # a deposit's reversal is a debit
    ])  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        _load(book, bad)
    got = [(p.column, p.reason) for p in err.value.problems]
    assert [c for c, _ in got] == ["reverses"] * 4
    assert "'C-DEP-9' was reversed already by 'C-RV-2' (day2.xml" in got[0][1]
    assert "no line of SIM-CUSTODIAN-C has reference or end-to-end id 'NOPE': nothing to reverse" in got[1][1]
    assert "49.00 USD is not the amount of 'C-BATCH-1/E2E-C' (50.00 USD)" in got[2][1]
    assert "a reversal of a deposit is a debit" in got[3][1]
    assert _usd(book) == before


def test_a_batch_whose_count_or_sum_is_wrong_is_refused_when_read(tmp_path: Path) -> None:
    v = 8
    txs = [_tx(v, "100.00", True, EndToEndId="E1"), _tx(v, "200.00", True, EndToEndId="E2")]
    count = _file(tmp_path, "count", v, "2026-11-02", [_ntry(v, "B1", "300.00", True, DEPOSIT, "2026-11-02",
                                                             batch=3, txs=txs)])  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        read_activity_file(count, C)
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("Ntry/NtryDtls/Btch/NbOfTxs", "says 3 transactions, the entry has 2")
    ]
    total = _file(tmp_path, "sum", v, "2026-11-02", [_ntry(v, "B1", "310.00", True, DEPOSIT, "2026-11-02",
                                                           batch=2, txs=txs)])  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        read_activity_file(total, C)
    assert [(p.column, p.reason) for p in err.value.problems] == [
        ("Ntry/Amt", "the entry is 310.00 USD, its 2 transactions add up to 300.00")
    ]


def test_an_fx_conversion_reversed_takes_back_both_legs(book: Database, tmp_path: Path) -> None:
    v = 8
    fx = ("FORX", "SPOT", "OTHR")
    conversion = {"AmtDtls": {"CntrValAmt": {"Amt": {"value": "1000.00", "Ccy": "GBP"}}}}
    day = _file(tmp_path, "fx", v, "2026-11-02", [
        # 1270.50 USD sold for 1000.00 GBP, value 2026-11-04.
        _ntry(v, "C-FX-1", "1270.50", False, fx, "2026-11-02", txs=[{**_tx(v, "1270.50", False), **conversion}]),
        # Reversed the same day: the USD leg credited back, naming the conversion by its AcctSvcrRef.
        _ntry(v, "C-RV-FX", "1270.50", True, fx, "2026-11-02", reversal=True,
              txs=[_tx(v, "1270.50", True, AcctSvcrRef="C-FX-1")]),
    ])  # fmt: skip
    before = _usd(book)
    assert _load(book, day).counts == {"fx": 1, "reversal": 1}
    with book.session() as s:
        legs = sorted(
            (m.currency, D(m.amount))
            for m in s.scalars(select(CashMovement).where(CashMovement.kind == "fx"))
        )
        gbp = s.scalars(select(CashBalance).where(CashBalance.currency == "GBP")).all()
    # The conversion's two legs and their opposites: -1270.50 / +1000.00, then +1270.50 / -1000.00.
    assert legs == [
        ("GBP", D("-1000.00")),
        ("GBP", D("1000.00")),
        ("USD", D("-1270.50")),
        ("USD", D("1270.50")),
    ]
    assert _usd(book) == before and sum((D(b.settled) + D(b.unsettled) for b in gbp), D(0)) == 0
