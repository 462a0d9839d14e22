"""The fast load (column readers, bulk executemany/COPY) stores
exactly the rows of the reference load (row-by-row reader, one ORM object per line): the two
dumps, values and (on SQLite) storage classes, compared by SHA-256 on both backends; and a bad
file after a good one in the same load stores nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text

from connectors.custodian import childread
from connectors.custodian.childread import is_semt002
from connectors.custodian.csvfile import read_csv_statement
from connectors.custodian.csvrows import Rows
from connectors.custodian.iso20022 import message_version
from connectors.custodian.load import load_files
from connectors.custodian.profile import Profile, profile_for
from connectors.custodian.semt002 import read_semt002
from connectors.custodian.xmltree import Tree
from engine.errors import ImportValidationError
from engine.reconcile.statement import ParsedStatement
from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.database import Database
from tests.engine.reconcile.minibook import CUST, IDS, OPS, build

HEAD = "custodian,account,security_id,id_type,quantity,currency,market_value,as_of\n"
AAA, VOD = IDS["AAA"]["isin"], IDS["VODX.L"]["sedol"]
QUANTITIES = ["10", "-3.25", "0.000001", "12345678901234.123456", "+7", "-0", "1e3", " 5 "]
VALUES = ["100.5", "", "-0.0001", "99999999.99", "7", "+1.10"]


def _positions(n: int, blank: bool = True) -> str:
    rows = []
    for i in range(n):
        acct = "A000001" if i % 3 else "A000002"
        ident = f"{AAA},ISIN" if i % 4 else f"{VOD.lower()},sedol"
        rows.append(
            f"{CUST},{acct},{ident},{QUANTITIES[i % len(QUANTITIES)]},"
            f"{'usd' if i % 5 == 0 else 'USD'},{VALUES[i % len(VALUES)]},2026-10-30\n"
        )
        if i == 7 and blank:
            rows.append("\n")  # a blank line is a row number, not a line
    return HEAD + "".join(rows)


CASH = (
    "custodian,account,currency,amount,as_of\n"
    f"{CUST},A000001,USD,-1500.25,2026-10-30\n{CUST},A000002,GBP,0.0001,2026-10-30\n"
    f"{CUST},A000001,EUR,12345678.5,2026-10-30\n"
)


def _reference_store(database: Database, st: ParsedStatement, name: str) -> int:
    """The load before the bulk path: one ORM object per line, Decimal values bound by SQLAlchemy."""
    with database.transaction() as s:
        stmt = Statement(custodian=st.custodian, file_name=name, file_hash=f"ref-{name}", format=st.format,
                         kind=st.kind, as_of=st.as_of, lines=st.lines, loaded_by=OPS)  # fmt: skip
        s.add(stmt)
        s.flush()
        s.add_all(
            StatementPosition(statement_id=stmt.id, row=p.row, account_code=p.account_code,
                              custodian_account=p.custodian_account, security_ref=p.security_ref.upper(),
                              id_type=p.id_type.upper(), quantity=p.quantity, currency=p.currency,
                              market_value=p.market_value)
            for p in st.positions
        )  # fmt: skip
        s.add_all(
            StatementCash(statement_id=stmt.id, row=c.row, account_code=c.account_code,
                          custodian_account=c.custodian_account, currency=c.currency, amount=c.amount)
            for c in st.cash
        )  # fmt: skip
        return stmt.id


def _digest(database: Database, statement_id: int) -> tuple[str, int]:
    """SHA-256 of a statement's lines in id order: every stored column but the ids, with each
    value's SQLite storage class (typeof) where the backend is SQLite."""
    sqlite = database.engine.dialect.name == "sqlite"
    h, n = hashlib.sha256(), 0
    for table, cols in (
        ("recon_positions", "row, account_code, custodian_account, security_ref, id_type, quantity, "
                            "currency, market_value"),
        ("recon_cash", "row, account_code, custodian_account, currency, amount"),
    ):  # fmt: skip
        typed = ", ".join(f"typeof({c})" for c in cols.split(", ")) if sqlite else "NULL"
        with database.session() as s:
            for r in s.execute(
                text(f"SELECT {cols}, {typed} FROM {table} WHERE statement_id = :i ORDER BY id"),
                {"i": statement_id},
            ):
                h.update(repr(tuple(r)).encode())
                n += 1
    return h.hexdigest(), n


@pytest.mark.parametrize("blank", [True, False], ids=["split-in-python", "c-tokenizer"])
def test_fast_load_stores_the_reference_rows_on_both_backends(
    database: Database, tmp_path: Path, blank: bool
) -> None:
    """A file with a blank line is split in Python; a regular one by pandas' C tokenizer."""
    build(database)
    pos, cash = tmp_path / "pos.csv", tmp_path / "cash.csv"
    pos.write_text(_positions(2_000, blank), encoding="utf-8")
    cash.write_text(CASH, encoding="utf-8")
    cells, _ = Rows(pos.read_text(encoding="utf-8"), ",").columns(8)
    assert isinstance(cells[0], np.ndarray) is not blank  # the splitter this case is about
    fast = load_files(database, [pos, cash], CUST, loaded_by=OPS)
    prof = profile_for(CUST)
    for done, path in zip(fast, (pos, cash)):
        ref_id = _reference_store(database, read_csv_statement(path, prof, slow=True), path.name)
        got, want = _digest(database, done.statement_id), _digest(database, ref_id)
        assert got == want and got[1] == done.lines
    assert [r.lines for r in fast] == [2_000, 3]
    with database.session() as s:
        q = s.execute(select(StatementPosition.quantity).order_by(StatementPosition.id).limit(8)).scalars()
        assert [float(x) for x in q] == [10, -3.25, 0.000001, 12345678901234.123456, 7, 0, 1000, 5]


def test_a_bad_file_after_a_good_one_stores_nothing(database: Database, tmp_path: Path) -> None:
    build(database)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(_positions(500), encoding="utf-8")
    bad.write_text(HEAD + f"{CUST},A000001,{AAA},ISIN,5,USD,1,2026-10-30\n{CUST},A000001,{AAA},ISIN,5x,USD,1,"
                   "2026-10-30\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(ImportValidationError) as e:
        load_files(database, [good, bad], CUST, loaded_by=OPS)
    assert e.value.lines() == ["bad.csv: row 3, column quantity: '5x' is not a number"]
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Statement)) == 0
        assert s.scalar(select(func.count()).select_from(StatementPosition)) == 0


def semt002(n: int, bad_at: int | None = None) -> bytes:
    """A semt.002 V11 file of n balances over the two accounts (ISIN and SEDOL ids, short
    positions, values in either currency block, a false sign, none); `bad_at` gets an ISIN whose
    check digit is wrong."""
    bals: list[list[str]] = [[], []]
    for i in range(n):
        ident = f"<ISIN>{AAA}</ISIN>" if i % 4 else f"<OthrId><Id>{VOD}</Id><Tp><Cd>SEDL</Cd></Tp></OthrId>"
        if i == bad_at:
            ident = f"<ISIN>{AAA[:-1]}{(int(AAA[-1]) + 1) % 10}</ISIN>"
        short = "<ShrtLngInd>SHOR</ShrtLngInd>" if i % 7 == 3 else ""
        qty = QUANTITIES[i % 5].strip().lstrip("+")
        value = VALUES[i % len(VALUES)].lstrip("+")
        block = ("InstrmCcyAmts", "AcctBaseCcyAmts")[i % 2]
        sign = "<Sgn>false</Sgn>" if i % 3 == 0 else ""
        amount = f'<{block}><HldgVal><Amt Ccy="USD">{value}</Amt>{sign}</HldgVal></{block}>' if value else ""
        bals[i % 2].append(
            f"<BalForSubAcct><FinInstrmId>{ident}</FinInstrmId><AggtBal>{short}<Qty><Qty><Unit>{qty}</Unit>"
            f"</Qty></Qty></AggtBal>{amount}</BalForSubAcct>\n"
        )
    subs = "".join(
        f"<SubAcctDtls><SfkpgAcct><Id>SIMC/00000{k + 1}</Id></SfkpgAcct>\n{''.join(b)}</SubAcctDtls>\n"
        for k, b in enumerate(bals)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:semt.002.001.11">\n<SctiesBalCtdyRpt>\n'
        "<StmtGnlDtls><StmtDtTm><Dt>2026-10-30</Dt></StmtDtTm><StmtBsis><Cd>SETT</Cd></StmtBsis></StmtGnlDtls>\n"
        f"<SfkpgAcct><Id>OMNI</Id></SfkpgAcct>\n{subs}</SctiesBalCtdyRpt>\n</Document>\n"
    ).encode()


def iso_profile() -> Profile:
    """Custodian C's profile (SIMC/nnnnnn accounts) under the mini book's custodian name."""
    return replace(profile_for("SIM-CUSTODIAN-C"), name=CUST)


def test_semt002_read_in_a_child_process_stores_the_reference_rows(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parallel path: the first semt.002 file of a load is read in a child process."""
    children: list[str] = []

    class Spy(childread.ChildRead):
        def __init__(self, path: Path, profile: Profile) -> None:
            children.append(path.name)
            super().__init__(path, profile)

    monkeypatch.setattr(childread, "ChildRead", Spy)
    monkeypatch.setattr(childread, "_can_fork", lambda: True)  # even beside an earlier test's thread
    build(database)
    big, small = tmp_path / "big.xml", tmp_path / "small.xml"
    big.write_bytes(semt002(2_000))
    small.write_bytes(semt002(9))
    prof = iso_profile()
    assert [is_semt002(p) for p in (big, small)] == [True, True]
    fast = load_files(database, [big, small], CUST, profile=prof, loaded_by=OPS)
    for done, path in zip(fast, (big, small)):
        tree = Tree(path.name, path.read_bytes())
        ref = read_semt002(tree, message_version(tree), prof)  # the reference reader, in this process
        ref_id = _reference_store(database, ref, path.name)
        got, want = _digest(database, done.statement_id), _digest(database, ref_id)
        assert got == want and got[1] == done.lines
    assert [r.lines for r in fast] == [2_000, 9] and children == ["big.xml"]
    with database.session() as s:
        q = s.execute(select(StatementPosition.quantity).order_by(StatementPosition.id).limit(4)).scalars()
        assert [float(x) for x in q] == [10, 0.000001, 7, -3.25]  # A000001's balances first
