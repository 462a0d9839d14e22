"""The audit trail as the compliance desk reads it (engine/store people.AuditEntry, newest first)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from engine.store.database import Database
from engine.store.people import AuditEntry

AUDIT_KEYS = ["id", "at", "username", "action", "entity", "entity_id", "reason", "hash"]


ROUTINE_ACTIONS = ("order.state", "day.step.start", "day.step.finish")
"""Every order status change (the OMS's audit hook) and every step of every day close: most of the
trail, hidden unless asked (the day run's own start and close stay in view)."""


def audit_entries(
    database: Database,
    limit: int = 50_000,
    since: datetime | None = None,
    until: datetime | None = None,
    order_events: bool = True,
    ids: list[int] | None = None,
    after_id: int | None = None,
) -> pd.DataFrame:
    """The newest `limit` entries with `since` <= at < `until` (timezone-aware), without the
    routine ones (order status changes, day-close steps) unless `order_events`; only those of
    `ids`, or only those after `after_id` (the trail is append-only: a panel reads what is new)."""
    q = (
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.username,
            AuditEntry.action,
            AuditEntry.entity,
            AuditEntry.entity_id,
            AuditEntry.reason,
            AuditEntry.hash,
        )
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    if not order_events:
        q = q.where(AuditEntry.action.not_in(ROUTINE_ACTIONS))
    if ids is not None:
        q = q.where(AuditEntry.id.in_(ids))
    if after_id is not None:
        q = q.where(AuditEntry.id > after_id)
    with database.session() as s:
        rows = [(*r[:7], (r[7] or "")[:12]) for r in s.execute(q).all()]
    return pd.DataFrame(rows, columns=AUDIT_KEYS)
