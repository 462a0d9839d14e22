"""Restricted and watch lists: firm-wide or per account, effective-dated, audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.compliance.tables import ListEntry
from engine.errors import NotFound, WorkstationError
from engine.store.accounts import Account
from engine.store.reference import Security

KINDS = ("restricted", "watch")


def add_entry(
    session: Session,
    username: str,
    list_kind: str,
    symbol: str,
    effective_from: date,
    reason: str,
    account_code: str | None = None,
    effective_to: date | None = None,
) -> ListEntry:
    """Put a security on a list from a date (for one account, or firm-wide)."""
    require(session, username, Permission.LISTS_EDIT)
    if list_kind not in KINDS:
        raise WorkstationError(f"list must be restricted or watch, not {list_kind!r}")
    if session.execute(select(Security.id).where(Security.symbol == symbol)).first() is None:
        raise NotFound(f"security {symbol!r} does not exist")
    if (
        account_code
        and session.execute(select(Account.id).where(Account.code == account_code)).first() is None
    ):
        raise NotFound(f"account {account_code!r} does not exist")
    if effective_to is not None and effective_to <= effective_from:
        raise WorkstationError("effective_to must be after effective_from")
    e = ListEntry(
        list_kind=list_kind, symbol=symbol, account_code=account_code or None, effective_from=effective_from,
        effective_to=effective_to, reason=reason, added_by=username,
    )  # fmt: skip
    session.add(e)
    session.flush()
    record(
        session, username, "list.add", "list_entry", e.id, None,
        {"list": list_kind, "symbol": symbol, "account": account_code, "from": effective_from, "to": effective_to},
        reason,
    )  # fmt: skip
    return e


def end_entry(session: Session, username: str, entry_id: int, last_day: date, reason: str) -> None:
    """Take a security off a list after `last_day` (the entry is kept, its end date set)."""
    require(session, username, Permission.LISTS_EDIT)
    e = session.get(ListEntry, entry_id)
    if e is None:
        raise NotFound(f"no list entry {entry_id}")
    before = {"to": e.effective_to}
    e.effective_to = last_day + timedelta(days=1)
    record(session, username, "list.end", "list_entry", e.id, before, {"to": e.effective_to}, reason)


def entries(session: Session, on: date | None = None) -> list[dict[str, Any]]:
    q = select(ListEntry).order_by(ListEntry.list_kind, ListEntry.symbol)
    if on is not None:
        q = q.where(
            ListEntry.effective_from <= on, (ListEntry.effective_to.is_(None)) | (ListEntry.effective_to > on)
        )
    return [
        {
            "id": e.id,
            "list": e.list_kind,
            "symbol": e.symbol,
            "account": e.account_code,
            "effective_from": e.effective_from,
            "effective_to": e.effective_to,
            "reason": e.reason,
            "added_by": e.added_by,
        }
        for e in session.scalars(q)
    ]
