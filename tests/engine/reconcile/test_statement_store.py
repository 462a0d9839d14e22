"""Statement lines are stored in bulk (SQLite executemany, PostgreSQL COPY) with exact values,
awkward text intact, in file order, once per file hash, and not at all when the file is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.errors import ImportValidationError
from engine.reconcile.load import store_statement
from engine.reconcile.statement import ParsedStatement, StatementColumns
from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.database import Database
from tests.engine.reconcile.minibook import CUST, IDS, OPS, build

D = date(2026, 10, 30)
AAA = IDS["AAA"]["isin"]
ODD = "tab\there\\back\nline\r"  # COPY's text format escapes all of these


def _positions(n: int, account: str = "A000001") -> ParsedStatement:
    quantities = ["10", "-3.25", "0.000001", "12345678901234.123456", "+7", "-0"]
    data: dict[str, list[object]] = {
        "row": [i + 2 for i in range(n)],
        "custodian_account": [ODD if i == 1 else f"C-{i}" for i in range(n)],
        "account_code": [account] * n,
        "security_ref": [AAA.lower() if i == 2 else AAA for i in range(n)],
        "id_type": ["isin" if i == 2 else "ISIN" for i in range(n)],
        "quantity": [quantities[i % len(quantities)] for i in range(n)],
        "currency": [None if i % 3 == 0 else "USD" for i in range(n)],
        "market_value": [None if i % 2 else f"{i}.5" for i in range(n)],
    }
    return ParsedStatement(CUST, "generic-csv", "positions", D, table=StatementColumns(data))


def test_bulk_store_exact_values_and_text_on_both_backends(database: Database) -> None:
    build(database)
    st = _positions(250_001 if database.engine.dialect.name == "postgresql" else 1_000)
    with database.transaction() as s:
        first = store_statement(s, st, "p.csv", "h1", OPS)
    with database.transaction() as s:
        again = store_statement(s, st, "p.csv", "h1", OPS)
    assert (first.duplicate, again.duplicate, again.statement_id) == (False, True, first.statement_id)
    with database.session() as s:
        rows = s.execute(
            select(
                StatementPosition.row, StatementPosition.custodian_account, StatementPosition.security_ref,
                StatementPosition.id_type, StatementPosition.quantity, StatementPosition.currency,
                StatementPosition.market_value,
            ).order_by(StatementPosition.id)
        ).all()  # fmt: skip
    assert len(rows) == st.lines
    assert [r[0] for r in rows[:5]] == [2, 3, 4, 5, 6]  # file order
    expected = st.positions
    exact = database.engine.dialect.name == "postgresql"  # SQLite stores a double, as before

    def same(a: Decimal | None, b: Decimal | None) -> bool:
        return a == b if exact or a is None or b is None else float(a) == pytest.approx(float(b), rel=1e-15)

    for got, want in zip(rows[:12] + rows[-3:], expected[:12] + expected[-3:]):
        assert got[1] == want.custodian_account
        assert (got[2], got[3]) == (want.security_ref.upper(), want.id_type.upper())
        assert same(got[4], want.quantity) and got[5] == want.currency
        assert same(got[6], want.market_value)
    assert rows[1][1] == ODD


def test_cash_columns_stored_and_a_refused_statement_stores_nothing(database: Database) -> None:
    build(database)
    cash = ParsedStatement(
        CUST, "generic-csv", "cash", D,
        table=StatementColumns({"row": [2, 3], "custodian_account": ["A000001", "A000002"],
                                "account_code": ["A000001", "A000002"], "currency": ["USD", "GBP"],
                                "amount": ["-1500.25", "0.0001"]}),
    )  # fmt: skip
    with database.transaction() as s:
        store_statement(s, cash, "c.csv", "c1", OPS)
    with database.session() as s:
        got = s.execute(select(StatementCash.currency, StatementCash.amount).order_by(StatementCash.id)).all()
    assert [tuple(r) for r in got] == [("USD", Decimal("-1500.25")), ("GBP", Decimal("0.0001"))]
    with pytest.raises(ImportValidationError) as e, database.transaction() as s:
        store_statement(s, _positions(5, account="A999999"), "x.csv", "x1", OPS)
    assert e.value.lines() == [
        "x.csv: row 2, column account: 'C-0' maps to 'A999999', which is not in the book"
    ]
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Statement)) == 1
        assert s.scalar(select(func.count()).select_from(StatementPosition)) == 0
