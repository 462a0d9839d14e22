"""AllocAccount (79) for each account of an AllocationInstruction: the account's number at its
custodian when the book has one (the latest custodian statement loaded for it, engine.reconcile),
else the book's account code."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.accounts import Account


def alloc_accounts(s: Session, account_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Account id -> (book code, AllocAccount). The custodian's number comes from the newest
    statement (by statement date, then load order) of the account's own custodian."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    accounts = s.execute(select(Account.id, Account.code, Account.custodian).where(Account.id.in_(ids))).all()
    codes = {a.code for a in accounts}
    lines = union_all(
        select(StatementPosition.account_code, StatementPosition.custodian_account, StatementPosition.statement_id)
        .where(StatementPosition.account_code.in_(codes)),
        select(StatementCash.account_code, StatementCash.custodian_account, StatementCash.statement_id)
        .where(StatementCash.account_code.in_(codes)),
    ).subquery()  # fmt: skip
    rows = s.execute(
        select(lines.c.account_code, lines.c.custodian_account, Statement.custodian)
        .join(Statement, Statement.id == lines.c.statement_id)
        .order_by(Statement.as_of, Statement.id)
    ).all()
    number: dict[tuple[str, str], str] = {}
    for code, custodian_account, custodian in rows:  # newest last: it wins
        if custodian_account:
            number[(code, custodian)] = custodian_account
    return {a.id: (a.code, number.get((a.code, a.custodian), a.code)) for a in accounts}
