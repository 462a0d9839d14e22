"""Purge the oldest audit entries under a signed checkpoint, so the kept chain stays verifiable.

This is the one place that deletes audit entries, and only a prefix of the chain: the entries
from the first one kept to the last up to `upto_id`. Before deleting, it writes an
`audit_checkpoints` row naming what goes (first and last id and time, how many, the hash of the
last one, which the first kept entry points to) and the chain head it hands over to, signed
with the firm's Ed25519 key (a Signer port; the key is in the OS keychain). `verify_chain` then
accepts a chain that starts at a checkpoint and refuses a checkpoint that was altered, signed
by another key, or that does not meet the kept entries (a gap).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engine.audit.canonical import stamp
from engine.audit.signing import Signer
from engine.audit.tables import AuditCheckpoint, AuditHead
from engine.errors import WorkstationError
from engine.store.people import AuditEntry

FORMAT = 1
HEAD_ID = 1


def payload(cp: AuditCheckpoint) -> bytes:
    """The bytes a checkpoint's signature covers: every field but its id and signature, canonical JSON."""
    body = {
        "format": FORMAT,
        "at": stamp(cp.at),
        "created_by": cp.created_by,
        "reason": cp.reason,
        "first_id": cp.first_id,
        "last_id": cp.last_id,
        "first_at": stamp(cp.first_at),
        "last_at": stamp(cp.last_at),
        "count": cp.count,
        "purged_total": cp.purged_total,
        "first_prev_hash": cp.first_prev_hash,
        "last_hash": cp.last_hash,
        "head_id": cp.head_id,
        "head_hash": cp.head_hash,
        "head_seq": cp.head_seq,
        "key_id": cp.key_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class PrefixPlan:
    """The entries a purge up to an id would remove: how many and their id and time range."""

    count: int
    first_id: int | None
    last_id: int | None
    first_at: datetime | None
    last_at: datetime | None


def plan_prefix(session: Session, upto_id: int) -> PrefixPlan:
    """What `purge_prefix(upto_id)` would remove (nothing is written)."""
    n, lo, hi = session.execute(
        select(func.count(), func.min(AuditEntry.id), func.max(AuditEntry.id)).where(AuditEntry.id <= upto_id)
    ).one()
    if not n:
        return PrefixPlan(0, None, None, None, None)
    first_at = session.scalar(select(AuditEntry.at).where(AuditEntry.id == lo))
    last_at = session.scalar(select(AuditEntry.at).where(AuditEntry.id == hi))
    return PrefixPlan(int(n), lo, hi, first_at, last_at)


def purge_prefix(
    session: Session, actor: str, upto_id: int, signer: Signer, reason: str, at: datetime | None = None
) -> AuditCheckpoint | None:
    """Delete the audit entries with id <= `upto_id` under a new signed checkpoint, in the caller's
    transaction; the checkpoint, or None when there is nothing to purge.

    The caller checks the permission and verifies the chain first (purging a broken chain would
    erase the evidence); this function refuses a prefix that does not continue the last checkpoint.
    """
    at = (at or datetime.now(UTC)).astimezone(UTC)
    # Take the head's lock (row lock on PostgreSQL, write lock on SQLite) without counting an append.
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq))
    head = session.get(AuditHead, HEAD_ID)
    if head is None or head.last_id is None or head.hash is None:
        return None
    session.refresh(head)
    plan = plan_prefix(session, upto_id)
    if plan.count == 0 or plan.first_id is None or plan.last_id is None:
        return None
    first = session.get(AuditEntry, plan.first_id)
    last = session.get(AuditEntry, plan.last_id)
    assert first is not None and last is not None and last.hash is not None
    previous = session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.last_id.desc()).limit(1)
    ).first()
    expected_prev = previous.last_hash if previous is not None else None
    if first.prev_hash != expected_prev:
        raise WorkstationError(
            f"audit entry {first.id} does not continue "
            + (f"checkpoint {previous.id}" if previous is not None else "the start of the chain")
            + ": the chain is broken, purge refused (run `workstation audit verify`)"
        )
    cp = AuditCheckpoint(
        at=at,
        created_by=actor,
        reason=reason,
        first_id=plan.first_id,
        last_id=plan.last_id,
        first_at=plan.first_at,
        last_at=plan.last_at,
        count=plan.count,
        purged_total=(previous.purged_total if previous is not None else 0) + plan.count,
        first_prev_hash=first.prev_hash,
        last_hash=last.hash,
        head_id=head.last_id,
        head_hash=head.hash,
        head_seq=head.seq,
        key_id=signer.key_id,
        signature="",
    )
    cp.signature = base64.b64encode(signer.sign(payload(cp))).decode("ascii")
    session.add(cp)
    session.flush()
    session.expunge(first)
    if last is not first:
        session.expunge(last)
    session.execute(
        delete(AuditEntry).where(AuditEntry.id <= plan.last_id).execution_options(synchronize_session=False)
    )
    return cp
