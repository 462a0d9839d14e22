"""Cases opened for a batch (`approvals.submit_many`) are each checked on their own, exactly as
`submit` checks them one by one: the same outcomes and the same stored results, rule by rule,
with the book and rules loaded once (on SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from engine.compliance import approvals
from engine.compliance.tables import CheckResult
from engine.oms.tables import Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security

TERMS = [  # clean, flagged, hard-blocked, another account, another household and currency
    ("U1", "AAA", "sell", 10),
    ("U1", "AAA", "buy", 10),
    ("U1", "BBB", "buy", 10),
    ("U2", "AAB", "buy", 5),
    ("G1", "CCC", "sell", 100),
    ("G1", "AAA", "buy", 3),
]


def _orders(db: Database, tag: str) -> list[int]:
    ids = []
    with db.transaction() as s:
        for n, (account, symbol, side, q) in enumerate(TERMS):
            o = Order(
                cl_ord_id=f"{tag}-{n}",
                account_id=s.scalar(select(Account.id).where(Account.code == account)),
                security_id=s.scalar(select(Security.id).where(Security.symbol == symbol)),
                side=side, quantity=Decimal(q), order_type="market", time_in_force="day",
                currency="USD", status="pending_approval", created_by="tr1",
            )  # fmt: skip
            s.add(o)
            s.flush()
            ids.append(o.id)
    return ids


def _results(db: Database, oid: int) -> list[tuple[object, ...]]:
    with db.session() as s:
        rows = s.scalars(select(CheckResult).where(CheckResult.entity_id == str(oid))).all()
        return sorted(
            (r.rule_code, r.outcome, r.limit_value, r.before_value, r.after_value, r.message) for r in rows
        )


def test_a_batch_of_cases_is_checked_as_each_case_alone(book_db: Database) -> None:
    alone, batch = _orders(book_db, "A"), _orders(book_db, "B")  # both sets open before any check
    with book_db.transaction() as s:
        one_by_one = [approvals.submit(s, "tr1", "order", oid) for oid in alone]
    with book_db.transaction() as s:
        together = approvals.submit_many(s, "tr1", "order", batch)
    assert [(c.state, c.outcome, c.hard_block) for c in together] == [
        (c.state, c.outcome, c.hard_block) for c in one_by_one
    ]
    assert {c.outcome for c in together} == {"flag", "block"}  # open orders count: none is clean
    assert {c.state for c in together} == {"pending_approval"}
    for a, b in zip(alone, batch):
        assert _results(book_db, a) == _results(book_db, b) and len(_results(book_db, b)) == 23
    with book_db.session() as s:
        runs = {c.run_id for c in s.scalars(select(approvals.ApprovalCase).where(
            approvals.ApprovalCase.entity_id.in_([str(i) for i in batch])))}  # fmt: skip
    assert len(runs) == len(batch)  # one check run per case, as before
