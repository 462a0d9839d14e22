"""Store a parsed statement once per file hash; a file that does not fit the book is refused whole.

Loading the same bytes again returns the first statement and changes nothing. Every account
must exist and be held at the custodian named; any problem (row, field, reason) refuses the
file and nothing is written. An identifier we cannot resolve is NOT a load problem: it becomes
an "unknown security" break when reconciled.

Loading is an act of a signed-in user with reconcile.load (PermissionDenied otherwise, audited);
each stored file is audited (`reconcile.load`: file, SHA-256, custodian, date, line counts) in
the same transaction. A file already loaded changes nothing and writes no entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import CashLine, ParsedStatement, PositionLine
from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.accounts import Account
from engine.store.bulk import insert_frame


@dataclass(frozen=True)
class LoadResult:
    """What a load did. `duplicate` is True when the file (by SHA-256) had been loaded before."""

    statement_id: int
    file_name: str
    custodian: str
    kind: str
    as_of: str
    lines: int
    duplicate: bool


def _check_accounts(session: Session, name: str, st: ParsedStatement) -> None:
    lines: list[PositionLine | CashLine] = [*st.positions, *st.cash]
    codes = sorted({ln.account_code for ln in lines})
    held = dict(session.execute(select(Account.code, Account.custodian).where(Account.code.in_(codes))).all())
    problems: list[Problem] = []
    seen: set[str] = set()
    for ln in lines:
        if ln.account_code in seen:
            continue
        where = held.get(ln.account_code)
        if where is None:
            problems.append(
                Problem(
                    ln.row,
                    "account",
                    f"{ln.custodian_account!r} maps to {ln.account_code!r}, which is not in the book",
                )
            )
            seen.add(ln.account_code)
        elif where != st.custodian:
            problems.append(
                Problem(
                    ln.row, "account", f"account {ln.account_code} is held at {where}, not {st.custodian}"
                )
            )
            seen.add(ln.account_code)
    if problems:
        raise ImportValidationError(name, problems)


def store_statement(
    session: Session, st: ParsedStatement, file_name: str, sha256: str, loaded_by: str | None = None
) -> LoadResult:
    """Store in the caller's transaction as `loaded_by` (idempotent on sha256); see the module
    docstring. `loaded_by` must be a signed-in user with reconcile.load."""
    require(session, loaded_by or "(nobody)", Permission.RECONCILE_LOAD)
    prior = session.scalars(select(Statement).where(Statement.file_hash == sha256)).first()
    if prior is not None:
        return LoadResult(
            prior.id, prior.file_name, prior.custodian, prior.kind, prior.as_of.isoformat(), prior.lines, True
        )
    _check_accounts(session, file_name, st)
    stmt = Statement(
        custodian=st.custodian,
        file_name=file_name,
        file_hash=sha256,
        format=st.format,
        kind=st.kind,
        as_of=st.as_of,
        lines=st.lines,
        loaded_by=loaded_by,
    )
    session.add(stmt)
    session.flush()
    if st.positions:
        frame = pd.DataFrame(
            {
                "statement_id": stmt.id,
                "row": [p.row for p in st.positions],
                "account_code": [p.account_code for p in st.positions],
                "custodian_account": [p.custodian_account for p in st.positions],
                "security_ref": [p.security_ref.upper() for p in st.positions],
                "id_type": [p.id_type.upper() for p in st.positions],
                "quantity": [p.quantity for p in st.positions],
                "currency": [p.currency for p in st.positions],
                "market_value": [p.market_value for p in st.positions],
            }
        )
        insert_frame(session, StatementPosition.__table__, frame)
    if st.cash:
        frame = pd.DataFrame(
            {
                "statement_id": stmt.id,
                "row": [c.row for c in st.cash],
                "account_code": [c.account_code for c in st.cash],
                "custodian_account": [c.custodian_account for c in st.cash],
                "currency": [c.currency for c in st.cash],
                "amount": [c.amount for c in st.cash],
            }
        )
        insert_frame(session, StatementCash.__table__, frame)
    record(session, loaded_by or "(nobody)", "reconcile.load", "recon_statement", stmt.id, None,
           {"file": file_name, "sha256": sha256, "custodian": st.custodian, "format": st.format,
            "kind": st.kind, "as_of": st.as_of, "lines": st.lines, "positions": len(st.positions),
            "cash": len(st.cash)})  # fmt: skip
    return LoadResult(stmt.id, file_name, st.custodian, st.kind, st.as_of.isoformat(), st.lines, False)
