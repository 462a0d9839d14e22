"""Walk the audit chain in order and report the first broken link (edited, inserted, deleted).

A chain whose oldest entries were purged (engine.audit.checkpoint) starts at its signed
checkpoints: each must carry a valid signature of the firm's key (a Verifier port), continue the
one before it, and meet the first kept entry; the head each one handed over to must still be
there, unchanged. Without a verifier, a chain with checkpoints is reported as not verifiable.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.canonical import entry_hash
from engine.audit.checkpoint import payload
from engine.audit.signing import Verifier
from engine.audit.tables import AuditCheckpoint, AuditHead
from engine.store.people import AuditEntry


@dataclass(frozen=True)
class VerifyReport:
    """The verdict: how many entries were checked and, if broken, where and why."""

    ok: bool
    entries: int
    first_broken_id: int | None = None
    problem: str | None = None
    purged: int = 0
    checkpoints: int = 0
    broken_checkpoint_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_broken_id": self.first_broken_id,
            "problem": self.problem,
            "purged": self.purged,
            "checkpoints": self.checkpoints,
            "broken_checkpoint_id": self.broken_checkpoint_id,
        }


def _describe(cp: AuditCheckpoint) -> str:
    return f"checkpoint {cp.id} (entries {cp.first_id}-{cp.last_id} purged by {cp.created_by} on {cp.at:%Y-%m-%d})"


def _check_checkpoints(
    cps: list[AuditCheckpoint], verifier: Verifier | None, unavailable: str | None
) -> VerifyReport | None:
    """The first problem among the checkpoints themselves, else None."""
    prev: AuditCheckpoint | None = None
    total = 0
    for cp in cps:
        n = len(cps)
        if verifier is None:
            why = unavailable or "no audit verification key was given"
            return VerifyReport(False, 0, None, f"{_describe(cp)} cannot be checked: {why}", 0, n, cp.id)
        if cp.key_id != verifier.key_id:
            return VerifyReport(
                False, 0, None,
                f"{_describe(cp)} is signed by key {cp.key_id}, not by this firm's key {verifier.key_id}",
                0, n, cp.id,
            )  # fmt: skip
        try:
            sig = base64.b64decode(cp.signature, validate=True)
        except (binascii.Error, ValueError):
            sig = b""
        if not verifier.verify(payload(cp), sig):
            return VerifyReport(
                False, 0, None,
                f"{_describe(cp)}: its signature does not match its contents: the checkpoint was altered",
                0, n, cp.id,
            )  # fmt: skip
        expected = prev.last_hash if prev is not None else None
        if cp.first_prev_hash != expected or (prev is not None and cp.first_id <= prev.last_id):
            before = f"checkpoint {prev.id}" if prev is not None else "the start of the chain"
            return VerifyReport(
                False, 0, None, f"{_describe(cp)} does not continue {before}: a gap in the purged record",
                0, n, cp.id,
            )  # fmt: skip
        total += cp.count
        if cp.purged_total != total:
            return VerifyReport(
                False, 0, None, f"{_describe(cp)} counts {cp.purged_total} purged entries, the checkpoints {total}",
                0, n, cp.id,
            )  # fmt: skip
        prev = cp
    return None


def verify_chain(
    session: Session, batch: int = 5000, verifier: Verifier | None = None, unavailable: str | None = None
) -> VerifyReport:
    """Recompute every hash in id order from the last checkpoint; the first mismatch is the first
    broken link. `verifier` checks checkpoint signatures (`unavailable`: why there is none)."""
    cps = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.first_id)))
    bad = _check_checkpoints(cps, verifier, unavailable)
    if bad is not None:
        return bad
    last_cp = cps[-1] if cps else None
    purged = last_cp.purged_total if last_cp is not None else 0
    kept_from = last_cp.last_id if last_cp is not None else 0
    anchors = {cp.head_id: cp for cp in cps if cp.head_id > kept_from}
    prev: str | None = last_cp.last_hash if last_cp is not None else None
    last_id: int | None = None
    n = 0
    ncp = len(cps)

    def broken(entry_id: int | None, problem: str, cp: AuditCheckpoint | None = None) -> VerifyReport:
        return VerifyReport(False, n, entry_id, problem, purged, ncp, cp.id if cp is not None else None)

    a = AuditEntry
    q = (
        select(
            a.id,
            a.prev_hash,
            a.hash,
            a.at,
            a.username,
            a.action,
            a.entity,
            a.entity_id,
            a.before,
            a.after,
            a.reason,
        )
        .order_by(a.id)
        .execution_options(yield_per=batch)
    )  # rows, not ORM objects: the walk reads every entry once
    for e in session.execute(q):
        n += 1
        if last_cp is not None and e.id <= last_cp.last_id:
            return broken(e.id, f"entry {e.id} lies in the range {_describe(last_cp)} covers", last_cp)
        if e.prev_hash != prev:
            if last_id is None and last_cp is not None:
                return broken(
                    e.id,
                    f"entry {e.id} does not continue {_describe(last_cp)}: entries between were removed "
                    "without a checkpoint, or the entry was edited",
                    last_cp,
                )
            return broken(
                e.id,
                f"entry {e.id} points to previous hash {str(e.prev_hash)[:12]}, but the entry "
                f"before it (id {last_id}) has hash {str(prev)[:12]}: an entry was removed, "
                "inserted or edited before it",
            )
        expected = entry_hash(
            e.prev_hash, e.at, e.username, e.action, e.entity, e.entity_id, e.before, e.after, e.reason
        )
        if e.hash != expected:
            return broken(e.id, f"entry {e.id} ({e.action} by {e.username}) was changed after it was written")
        anchor = anchors.pop(e.id, None)
        if anchor is not None and anchor.head_hash != e.hash:
            return broken(
                e.id, f"entry {e.id} is not the chain head {_describe(anchor)} handed over to", anchor
            )
        prev, last_id = e.hash, e.id
    if anchors:
        cp = next(iter(anchors.values()))
        return broken(
            None, f"entry {cp.head_id}, the chain head {_describe(cp)} handed over to, is missing", cp
        )
    head = session.get(AuditHead, 1)
    head_hash = head.hash if head else None
    head_id = head.last_id if head else None
    if last_id is None and last_cp is not None:
        last_id = last_cp.last_id  # every entry up to the head was purged
    if (head_hash, head_id) != (prev, last_id):
        return broken(
            last_id,
            f"the chain ends at entry {last_id} but the recorded head is entry {head_id}: "
            "entries at the end were deleted",
        )
    if head is not None and head.seq != n + purged:
        extra = f" and {purged} purged" if purged else ""
        return broken(None, f"{head.seq} entries were appended but {n} are present{extra}")
    return VerifyReport(True, n, None, None, purged, ncp)
