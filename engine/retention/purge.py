"""`retention purge`: delete, in one transaction, every record past its kind's period and before a
date, never anything still open; the oldest audit entries go under a signed checkpoint so that
`audit verify` still accepts the chain. The purge is audited (`retention.purge`).

FIX log and store files are not in the database: their list is decided and audited in the
transaction, and `remove_files` deletes them after it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.audit.checkpoint import plan_prefix, purge_prefix
from engine.audit.signing import Signer, Verifier
from engine.audit.verify import verify_chain
from engine.errors import WorkstationError
from engine.retention import select as sel
from engine.retention.kinds import KINDS
from engine.retention.policy import months_before, periods
from engine.store.base import Base

CHUNK = 500


@dataclass
class KindPurge:
    """One kind: its period, its cut-off day (nothing dated on or after it goes), rows per table."""

    kind: str
    months: int
    cutoff: date
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "months": self.months, "cutoff": self.cutoff, "rows": self.rows}


@dataclass
class PurgeResult:
    """What a purge removed (or, dry, would remove)."""

    before: date
    today: date
    dry_run: bool
    kinds: list[KindPurge]
    checkpoint: dict[str, object] | None = None
    files: list[Path] = field(default_factory=list)

    def total(self) -> int:
        return sum(sum(k.rows.values()) for k in self.kinds)

    def as_dict(self) -> dict[str, object]:
        return {
            "before": self.before, "today": self.today, "dry_run": self.dry_run, "total_rows": self.total(),
            "kinds": [k.as_dict() for k in self.kinds], "checkpoint": self.checkpoint,
            "files": [str(p) for p in self.files],
        }  # fmt: skip


def _t(name: str) -> Table:
    return Base.metadata.tables[name]


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def _count(session: Session, table: str, column: str, ids: set[int]) -> int:
    col = _t(table).c[column]
    return sum(session.scalar(select(func.count()).where(col.in_(c))) or 0 for c in _chunks(ids))


def _delete(session: Session, table: str, column: str, ids: set[int], dry: bool) -> int:
    if dry:
        return _count(session, table, column, ids)
    t = _t(table)
    n = 0
    for c in _chunks(ids):
        n += session.execute(delete(t).where(t.c[column].in_(c))).rowcount or 0  # type: ignore[attr-defined]
    return n


def _delete_before(session: Session, table: str, column: str, cutoff: date, dry: bool) -> int:
    """Rows dated before `cutoff` (a table kept by date alone, such as the stored daily values)."""
    t = _t(table)
    cond = t.c[column] < cutoff
    if dry:
        return session.scalar(select(func.count()).select_from(t).where(cond)) or 0
    return session.execute(delete(t).where(cond)).rowcount or 0  # type: ignore[attr-defined]


def _delete_allocations(session: Session, orders: set[int], dry: bool) -> int:
    t = _t("oms_allocations")
    n = 0
    for c in _chunks(orders):
        cond = or_(t.c.block_id.in_(c), t.c.child_id.in_(c))
        if dry:
            n += session.scalar(select(func.count()).select_from(t).where(cond)) or 0
        else:
            n += session.execute(delete(t).where(cond)).rowcount or 0  # type: ignore[attr-defined]
    return n


def cutoffs(session: Session, before: date, today: date) -> dict[str, KindPurge]:
    """Each kind's cut-off: the earlier of `before` and today less the kind's period."""
    p = periods(session)
    return {
        k.code: KindPurge(k.code, p[k.code].months, min(before, months_before(today, p[k.code].months)))
        for k in KINDS
    }


def purge(
    session: Session,
    actor: str,
    before: date,
    *,
    signer: Callable[[], Signer],
    verifier: Callable[[], Verifier],
    fix_dirs: Sequence[Path] = (),
    dry_run: bool = False,
    today: date | None = None,
    reason: str | None = None,
) -> PurgeResult:
    """Delete (or, with `dry_run`, count) what has expired, in the caller's transaction.

    Needs `retention.purge`. Before any audit entry goes, the whole chain is verified (a broken
    chain is never purged: that would erase the evidence) and the checkpoint is signed with
    `signer()`; `verifier()` checks earlier checkpoints. A key that cannot be had refuses the purge.
    """
    require(session, actor, Permission.RETENTION_PURGE)
    today = today or datetime.now(UTC).date()
    ks = cutoffs(session, before, today)
    cut = {code: k.cutoff for code, k in ks.items()}
    dry = dry_run
    result = PurgeResult(before, today, dry_run, list(ks.values()))

    order_ids = sel.orders(session, cut)
    proposal_ids = sel.proposals(session, cut, order_ids)
    case_ids = sel.cases(session, cut)
    check_ids = sel.checks(session, cut)
    break_ids = sel.breaks(session, cut)
    statement_ids, run_ids = sel.statements(session, cut)
    booking_ids, loose_moves = sel.ledger(session, cut)
    feed_ids = sel.feed(session, cut)
    audit_upto = sel.audit_prefix(session, cut)
    result.files = sel.fix_files(fix_dirs, cut["fix_files"])

    r = {code: k.rows for code, k in ks.items()}
    r["executions"]["executions"] = _delete(session, "executions", "order_id", order_ids, dry)
    r["order_events"]["order_events"] = _delete(session, "order_events", "order_id", order_ids, dry)
    r["orders"]["oms_cl_ord_ids"] = _delete(session, "oms_cl_ord_ids", "order_id", order_ids, dry)
    r["orders"]["oms_allocations"] = _delete_allocations(session, order_ids, dry)
    r["orders"]["oms_alloc_instructions"] = _delete(
        session, "oms_alloc_instructions", "block_id", order_ids, dry
    )
    r["orders"]["oms_rotation_log"] = _delete(session, "oms_rotation_log", "order_id", order_ids, dry)
    r["orders"]["oms_order_marks"] = _delete(session, "oms_order_marks", "order_id", order_ids, dry)
    children = {
        int(i)
        for c in _chunks(order_ids)
        for i in session.scalars(
            select(_t("orders").c.id).where(_t("orders").c.id.in_(c), _t("orders").c.parent_id.is_not(None))
        )
    }
    r["orders"]["orders"] = _delete(session, "orders", "id", children, dry) + _delete(
        session, "orders", "id", order_ids - children, dry
    )  # children before their blocks (they point to them)
    r["proposals"]["proposal_exceptions"] = _delete(
        session, "proposal_exceptions", "proposal_id", proposal_ids, dry
    )  # before their proposals (they point to them)
    r["proposals"]["proposals"] = _delete(session, "proposals", "id", proposal_ids, dry)
    r["approval_cases"]["compliance_approval_decisions"] = _delete(
        session, "compliance_approval_decisions", "approval_id", case_ids, dry
    )
    r["approval_cases"]["compliance_approvals"] = _delete(
        session, "compliance_approvals", "id", case_ids, dry
    )
    r["compliance_checks"]["compliance_check_results"] = _delete(
        session, "compliance_check_results", "id", check_ids, dry
    )
    r["reconcile_breaks"]["recon_comments"] = _delete(session, "recon_comments", "break_id", break_ids, dry)
    r["reconcile_breaks"]["recon_adjustments"] = _delete(
        session, "recon_adjustments", "break_id", break_ids, dry
    )
    r["reconcile_breaks"]["recon_breaks"] = _delete(session, "recon_breaks", "id", break_ids, dry)
    for child in ("recon_positions", "recon_cash"):
        r["reconcile_statements"][child] = _delete(session, child, "statement_id", statement_ids, dry)
    r["reconcile_statements"]["recon_statements"] = _delete(
        session, "recon_statements", "id", statement_ids, dry
    )
    r["reconcile_statements"]["recon_runs"] = _delete(session, "recon_runs", "id", run_ids, dry)
    r["ledger"]["activity_lines"] = _delete(
        session, "activity_lines", "booking_id", booking_ids, dry
    ) + _delete(session, "activity_lines", "id", sel.loose_activity_lines(session, cut), dry)
    r["ledger"]["account_daily_values"] = _delete_before(
        session, "account_daily_values", "day", cut["ledger"], dry
    )
    r["ledger"]["realized_gains"] = _delete(session, "realized_gains", "booking_id", booking_ids, dry)
    r["ledger"]["cash_movements"] = _delete(
        session, "cash_movements", "booking_id", booking_ids, dry
    ) + _delete(session, "cash_movements", "id", loose_moves, dry)
    r["ledger"]["bookings"] = _delete(session, "bookings", "id", booking_ids, dry)
    r["desk_feed"]["change_log"] = _delete(session, "change_log", "seq", feed_ids, dry)
    r["statements"]["client_statements"] = _delete_before(
        session, "client_statements", "period_end", cut["statements"], dry
    )
    r["fix_files"]["files"] = len(result.files)

    why = reason or f"retention purge before {before.isoformat()}"
    if audit_upto is None:
        r["audit"]["audit_log"] = 0
    elif dry:
        plan = plan_prefix(session, audit_upto)
        r["audit"]["audit_log"] = plan.count
        result.checkpoint = {"first_id": plan.first_id, "last_id": plan.last_id, "count": plan.count}
    else:
        report = _verified(session, verifier)
        if not report.ok:
            raise WorkstationError(
                f"the audit chain is broken ({report.problem}): purge refused, it would erase the evidence"
            )
        cp = purge_prefix(session, actor, audit_upto, signer(), why)
        r["audit"]["audit_log"] = cp.count if cp is not None else 0
        if cp is not None:
            result.checkpoint = checkpoint_dict(cp)
    if not dry:
        record(
            session, actor, "retention.purge", "retention", before.isoformat(),
            after={
                "before": before, "today": today, "total_rows": result.total(),
                "kinds": {k.kind: {"cutoff": k.cutoff, "rows": k.rows} for k in result.kinds},
                "checkpoint": result.checkpoint, "files": [str(p) for p in result.files],
            },
            reason=why,
        )  # fmt: skip
    return result


def _verified(session: Session, verifier: Callable[[], Verifier]) -> Any:
    from engine.audit.tables import AuditCheckpoint

    has_checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    return verify_chain(session, verifier=verifier() if has_checkpoints else None)


def checkpoint_dict(cp: Any) -> dict[str, object]:
    """A checkpoint as JSON data (docs/compliance.md, Checkpoint format)."""
    return {
        "id": cp.id, "at": cp.at, "created_by": cp.created_by, "reason": cp.reason,
        "first_id": cp.first_id, "last_id": cp.last_id, "first_at": cp.first_at, "last_at": cp.last_at,
        "count": cp.count, "purged_total": cp.purged_total, "first_prev_hash": cp.first_prev_hash,
        "last_hash": cp.last_hash, "head_id": cp.head_id, "head_hash": cp.head_hash,
        "head_seq": cp.head_seq, "key_id": cp.key_id, "signature": cp.signature,
    }  # fmt: skip


def remove_files(paths: Iterable[Path]) -> list[str]:
    """Delete the FIX files a committed purge listed; the ones that could not be removed, with why."""
    failed: list[str] = []
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            failed.append(f"{p}: {exc.strerror or exc}")
    return failed
