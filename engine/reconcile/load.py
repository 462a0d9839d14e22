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

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import ParsedStatement
from engine.reconcile.store_lines import insert_lines, prepared
from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.accounts import Account


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
    """Every account must be ours and held at the statement's custodian; problems at each bad
    account's first line. Read once per distinct account, not per line."""
    pos, cash = st.columns()
    first: dict[str, tuple[int, str]] = {}
    for cols in (pos, cash):
        d = cols.data
        if not d["row"]:
            continue
        codes_, uniq = pd.factorize(np.asarray(d["account_code"], dtype=object))
        # codes are numbered in order of first appearance: a new code is where the running max grows
        at = np.flatnonzero(np.diff(np.maximum.accumulate(codes_), prepend=-1) > 0).tolist()
        for code, i in zip(uniq.tolist(), at):
            first.setdefault(code, (d["row"][i], d["custodian_account"][i]))  # type: ignore[arg-type]
    codes = sorted(first)
    held: dict[str, str] = {}
    for start in range(0, len(codes), 20_000):
        part = codes[start : start + 20_000]
        found = session.execute(select(Account.code, Account.custodian).where(Account.code.in_(part)))
        held.update((code, where) for code, where in found)
    problems: list[Problem] = []
    for code, (row, theirs) in first.items():
        where = held.get(code)
        if where is None:
            problems.append(Problem(row, "account", f"{theirs!r} maps to {code!r}, which is not in the book"))
        elif where != st.custodian:
            problems.append(Problem(row, "account", f"account {code} is held at {where}, not {st.custodian}"))
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
    pos, cash = st.columns()
    insert_lines(
        session, StatementPosition.__tablename__, stmt.id, prepared(pos, ("security_ref", "id_type"))
    )
    insert_lines(session, StatementCash.__tablename__, stmt.id, prepared(cash, ()))
    n_pos, n_cash = st.counts()
    record(session, loaded_by or "(nobody)", "reconcile.load", "recon_statement", stmt.id, None,
           {"file": file_name, "sha256": sha256, "custodian": st.custodian, "format": st.format,
            "kind": st.kind, "as_of": st.as_of, "lines": st.lines, "positions": n_pos,
            "cash": n_cash})  # fmt: skip
    return LoadResult(stmt.id, file_name, st.custodian, st.kind, st.as_of.isoformat(), st.lines, False)
