"""The audit trail as the compliance desk reads it (engine/store people.AuditEntry, newest first)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from engine.store.database import Database
from engine.store.people import AuditEntry

AUDIT_KEYS = ["id", "at", "username", "action", "entity", "entity_id", "reason", "hash"]


def audit_entries(database: Database, limit: int = 50_000) -> pd.DataFrame:
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
    with database.session() as s:
        rows = [(*r[:7], (r[7] or "")[:12]) for r in s.execute(q).all()]
    return pd.DataFrame(rows, columns=AUDIT_KEYS)
