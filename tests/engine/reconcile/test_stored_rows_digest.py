"""The fast load (column readers, bulk executemany/COPY) stores
exactly the rows of the reference load (row-by-row reader, one ORM object per line): the two
dumps, values and (on SQLite) storage classes, compared by SHA-256 on both backends; and a bad
file after a good one in the same load stores nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text

from connectors.custodian.csvfile import read_csv_statement
from connectors.custodian.csvrows import Rows
from connectors.custodian.load import load_files
from connectors.custodian.profile import profile_for
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
