"""Append many entries to the audit chain at once: one head lock, hashes chained in memory.

Bulk paths (order blocks and their children, a batch of fills) change thousands of rows in one
transaction; appending their audit entries one by one would cost four statements each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from engine.audit.canonical import canonical_json, entry_hash
from engine.audit.tables import AuditHead
from engine.store.people import AuditEntry, User

HEAD_ID = 1


@dataclass(frozen=True)
class AuditDraft:
    """An entry to append: who, what (action, entity, id), before, after, why, and when."""

    username: str
    action: str
    entity: str
    entity_id: str | None = None
    before: Any = None
    after: Any = None
    reason: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def record_many(session: Session, drafts: Sequence[AuditDraft]) -> int:
    """Append `drafts` in order in the caller's transaction; returns how many were appended."""
    if not drafts:
        return 0
    n = len(drafts)
    ht = cast(Table, AuditHead.__table__)
    dialect = session.get_bind().dialect
    bump = update(ht).where(ht.c.id == HEAD_ID).values(seq=ht.c.seq + n)
    prev: str | None = None
    if dialect.update_returning:  # the bump and the last hash in one statement
        row = session.execute(bump.returning(ht.c.hash)).first()
        found = row is not None
        prev = row[0] if row is not None else None
    else:
        found = bool(session.execute(bump).rowcount)  # type: ignore[attr-defined]
        if found:
            prev = session.execute(select(ht.c.hash).where(ht.c.id == HEAD_ID)).scalar_one()
    if not found:
        session.add(AuditHead(id=HEAD_ID, seq=n, last_id=None, hash=None))
        session.flush()
    names = {d.username for d in drafts}
    user_ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(names))).all())
    rows: list[dict[str, Any]] = []
    for d in drafts:
        at = d.at.astimezone(UTC)
        before, after = canonical_json(d.before), canonical_json(d.after)
        digest = entry_hash(prev, at, d.username, d.action, d.entity, d.entity_id, before, after, d.reason)
        rows.append(
            {
                "at": at, "username": d.username, "action": d.action, "entity": d.entity,
                "entity_id": d.entity_id, "before": before, "after": after, "reason": d.reason,
                "prev_hash": prev, "hash": digest, "user_id": user_ids.get(d.username),
            }
        )  # fmt: skip
        prev = digest
    # Every appender holds the head lock, so this batch's entries are the newest. One entry (an
    # order's change, a fill) returns its id; a batch is one executemany (SQLite would return
    # ids row by row), then its last id is the table's newest.
    et = cast(Table, AuditEntry.__table__)
    if len(rows) == 1 and dialect.insert_returning:
        last_id = session.execute(insert(et).returning(et.c.id), rows[0]).scalar_one()
    else:
        session.execute(insert(et), rows)
        last_id = session.execute(select(func.max(et.c.id))).scalar_one()
    session.execute(update(ht).where(ht.c.id == HEAD_ID).values(hash=prev, last_id=last_id))
    head = session.identity_map.get(session.identity_key(AuditHead, HEAD_ID))
    if head is not None:
        session.expire(head)
    return n
