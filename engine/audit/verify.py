"""Walk the audit chain in order and report the first broken link (edited, inserted, deleted)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.canonical import entry_hash
from engine.audit.tables import AuditHead
from engine.store.people import AuditEntry


@dataclass(frozen=True)
class VerifyReport:
    """The verdict: how many entries were checked and, if broken, where and why."""

    ok: bool
    entries: int
    first_broken_id: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_broken_id": self.first_broken_id,
            "problem": self.problem,
        }


def verify_chain(session: Session, batch: int = 5000) -> VerifyReport:
    """Recompute every hash in id order; the first mismatch is the first broken link."""
    prev: str | None = None
    last_id: int | None = None
    n = 0
    q = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=batch)
    for e in session.scalars(q):
        n += 1
        if e.prev_hash != prev:
            return VerifyReport(
                False,
                n,
                e.id,
                f"entry {e.id} points to previous hash {str(e.prev_hash)[:12]}, but the entry "
                f"before it (id {last_id}) has hash {str(prev)[:12]}: an entry was removed, "
                "inserted or edited before it",
            )
        expected = entry_hash(
            e.prev_hash, e.at, e.username, e.action, e.entity, e.entity_id, e.before, e.after, e.reason
        )
        if e.hash != expected:
            return VerifyReport(
                False, n, e.id, f"entry {e.id} ({e.action} by {e.username}) was changed after it was written"
            )
        prev, last_id = e.hash, e.id
    head = session.get(AuditHead, 1)
    head_hash = head.hash if head else None
    head_id = head.last_id if head else None
    if (head_hash, head_id) != (prev, last_id):
        return VerifyReport(
            False,
            n,
            last_id,
            f"the chain ends at entry {last_id} but the recorded head is entry {head_id}: "
            "entries at the end were deleted",
        )
    if head is not None and head.seq != n:
        return VerifyReport(False, n, None, f"{head.seq} entries were appended but {n} are present")
    return VerifyReport(True, n)
