"""Append entries to the audit chain. The application only ever inserts into audit_log.

Each append first bumps the single `audit_chain_head` row: that takes a row lock on
PostgreSQL and the write lock on SQLite, so concurrent writers queue up and the chain never
forks. The entry's hash covers the previous entry's hash and all its fields.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.audit.canonical import canonical_json, entry_hash
from engine.audit.tables import AuditHead
from engine.store.people import AuditEntry, User

log = logging.getLogger(__name__)
HEAD_ID = 1


def _lock_head(session: Session) -> AuditHead:
    result: Any = session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq + 1)
    )
    bumped = result.rowcount
    if not bumped:
        session.add(AuditHead(id=HEAD_ID, seq=1, last_id=None, hash=None))
        session.flush()
    return session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID)).scalar_one()


def record(
    session: Session,
    username: str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    before_c, after_c = canonical_json(before), canonical_json(after)
    eid = None if entity_id is None else str(entity_id)
    head = _lock_head(session)
    session.refresh(head)
    digest = entry_hash(head.hash, at, username, action, entity, eid, before_c, after_c, reason)
    user_id = session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    entry = AuditEntry(
        at=at,
        username=username,
        action=action,
        entity=entity,
        entity_id=eid,
        before=before_c,
        after=after_c,
        reason=reason,
        prev_hash=head.hash,
        hash=digest,
        user_id=user_id,
    )
    session.add(entry)
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=digest, last_id=entry.id))
    session.expire(head)
    return entry


def record_separately(session: Session, username: str, action: str, entity: str, **kw: Any) -> None:
    """Append and commit in a transaction of its own, so it survives the caller's rollback.

    Used for refusals (permission denied, failed logins): the caller raises afterwards and its
    own transaction is rolled back, but the refusal must stay on record. Call it before the
    caller has written anything (SQLite allows one writer at a time).
    """
    bind = session.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    try:
        with Session(bind=bind) as own, own.begin():
            if sqlite:
                own.execute(text("PRAGMA busy_timeout = 1000"))
            else:
                own.execute(text("SET LOCAL lock_timeout = '2s'"))
            try:
                record(own, username, action, entity, **kw)
            finally:
                if sqlite:
                    own.execute(text("PRAGMA busy_timeout = 10000"))
    except OperationalError:
        # The caller already holds the write lock (SQLite) or the chain head (PostgreSQL):
        # record in its transaction instead; it is kept if the caller commits.
        log.warning("audit: %s by %s recorded in the caller's transaction", action, username)
        record(session, username, action, entity, **kw)
