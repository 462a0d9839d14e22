"""Which rows of each record kind have expired and may go: nothing still open, nothing a kept
row depends on. Reads only; engine.retention.purge deletes what this finds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CashMovement
from engine.activity.tables import ActivityLine
from engine.audit.tables import AuditCheckpoint
from engine.compliance.tables import ApprovalCase, CheckResult
from engine.oms.status import FINAL
from engine.oms.tables import Execution, Order, OrderEvent
from engine.rebalance.tables import Proposal
from engine.reconcile.tables import Adjustment, Break, Run, Statement
from engine.shared.tables import ChangeLog
from engine.state.breaks import RESOLVED
from engine.store.people import AuditEntry

CLOSED_CASES = frozenset({"released", "rejected"})
OPEN_PROPOSALS = frozenset({"ok", "accepted"})


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _ids(session: Session, q: object) -> set[int]:
    return {int(i) for i in session.scalars(q)}  # type: ignore[call-overload]


def orders(session: Session, cut: Mapping[str, date]) -> set[int]:
    """Final orders past `orders`, whose executions and events are past theirs; blocks only with every child."""
    final = [s.value for s in FINAL]
    cand = _ids(
        session,
        select(Order.id).where(Order.status.in_(final), Order.updated_at < start_of(cut["orders"])),
    )
    if not cand:
        return cand
    young_exec = _ids(
        session,
        select(Execution.order_id).where(
            func.coalesce(Execution.transact_time, Execution.received_at) >= start_of(cut["executions"])
        ),
    )
    young_events = _ids(
        session, select(OrderEvent.order_id).where(OrderEvent.at >= start_of(cut["order_events"]))
    )
    cand -= young_exec | young_events
    children: dict[int, set[int]] = {}
    for child, parent in session.execute(
        select(Order.id, Order.parent_id).where(Order.parent_id.is_not(None))
    ):
        if parent is not None:
            children.setdefault(parent, set()).add(child)
    changed = True
    while changed:  # a block goes only with all its children (children point to it)
        keep = {p for p in cand if not children.get(p, set()) <= cand}
        changed = bool(keep)
        cand -= keep
    return cand


def proposals(session: Session, cut: Mapping[str, date], purged_orders: set[int]) -> set[int]:
    """Closed proposals past `proposals`, no kept order came from."""
    cand = _ids(
        session,
        select(Proposal.id).where(
            Proposal.status.not_in(OPEN_PROPOSALS), Proposal.updated_at < start_of(cut["proposals"])
        ),
    )
    kept_orders = select(Order.id, Order.proposal_id).where(Order.proposal_id.in_(cand)) if cand else None
    if kept_orders is not None:
        for oid, pid in session.execute(kept_orders):
            if oid not in purged_orders:
                cand.discard(pid)
    return cand


def cases(session: Session, cut: Mapping[str, date]) -> set[int]:
    return _ids(
        session,
        select(ApprovalCase.id).where(
            ApprovalCase.state.in_(CLOSED_CASES), ApprovalCase.updated_at < start_of(cut["approval_cases"])
        ),
    )


def checks(session: Session, cut: Mapping[str, date]) -> set[int]:
    return _ids(
        session, select(CheckResult.id).where(CheckResult.checked_at < start_of(cut["compliance_checks"]))
    )


def breaks(session: Session, cut: Mapping[str, date]) -> set[int]:
    """Resolved breaks past `reconcile_breaks` (resolution time, else last seen) with no proposed adjustment."""
    c = cut["reconcile_breaks"]
    cand = _ids(
        session,
        select(Break.id).where(
            Break.status == RESOLVED,
            or_(Break.resolved_at < start_of(c), (Break.resolved_at.is_(None)) & (Break.last_seen < c)),
        ),
    )
    pending = _ids(session, select(Adjustment.break_id).where(Adjustment.status == "proposed"))
    return cand - pending


def statements(session: Session, cut: Mapping[str, date]) -> tuple[set[int], set[int]]:
    """Statements and runs past `reconcile_statements`; a statement stays while an unresolved break of
    its custodian was opened on or after its date."""
    c = start_of(cut["reconcile_statements"])
    oldest_open = dict(
        session.execute(
            select(Break.custodian, func.min(Break.opened_on))
            .where(Break.status != RESOLVED)
            .group_by(Break.custodian)
        ).all()
    )
    stm = set()
    for sid, custodian, as_of in session.execute(
        select(Statement.id, Statement.custodian, Statement.as_of).where(Statement.loaded_at < c)
    ):
        opened = oldest_open.get(custodian)
        if opened is None or as_of < opened:
            stm.add(int(sid))
    runs = _ids(session, select(Run.id).where(Run.run_at < c))
    return stm, runs


def ledger(session: Session, cut: Mapping[str, date]) -> tuple[set[int], set[int]]:
    """Bookings past `ledger` whose cash movements are all settled, and settled standalone movements."""
    c = cut["ledger"]
    bookings = _ids(session, select(Booking.id).where(Booking.trade_date < c))
    unsettled = _ids(
        session,
        select(CashMovement.booking_id).where(
            CashMovement.booking_id.is_not(None), CashMovement.settled.is_(False)
        ),
    )
    bookings -= unsettled
    loose = _ids(
        session,
        select(CashMovement.id).where(
            CashMovement.booking_id.is_(None), CashMovement.trade_date < c, CashMovement.settled.is_(True)
        ),
    )
    return bookings, loose


def feed(session: Session, cut: Mapping[str, date]) -> set[int]:
    return _ids(session, select(ChangeLog.seq).where(ChangeLog.at < start_of(cut["desk_feed"])))


def _open_things(session: Session) -> set[tuple[str, str]]:
    """(audit entity, id) of everything still open: the audit prefix stops at the first entry about one."""
    final = [s.value for s in FINAL]
    out: set[tuple[str, str]] = set()
    for (oid,) in session.execute(select(Order.id).where(Order.status.not_in(final))):
        out.add(("order", str(oid)))
    for (pid,) in session.execute(select(Proposal.id).where(Proposal.status.in_(OPEN_PROPOSALS))):
        out.add(("proposal", str(pid)))
    for entity, eid in session.execute(
        select(ApprovalCase.entity, ApprovalCase.entity_id).where(ApprovalCase.state.not_in(CLOSED_CASES))
    ):
        out.add((f"approval:{entity}", str(eid)))
    for (bid,) in session.execute(select(Break.id).where(Break.status != RESOLVED)):
        out.add(("recon_break", str(bid)))
    for (aid,) in session.execute(select(Adjustment.id).where(Adjustment.status == "proposed")):
        out.add(("recon_adjustment", str(aid)))
    return out


def audit_prefix(session: Session, cut: Mapping[str, date], batch: int = 5000) -> int | None:
    """The last id of the oldest run of audit entries past `audit`, stopping before the first entry
    that is newer or about something still open; None when there is none."""
    c = start_of(cut["audit"])
    after = session.scalar(select(func.max(AuditCheckpoint.last_id))) or 0
    open_things = _open_things(session)
    last: int | None = None
    q = (
        select(AuditEntry.id, AuditEntry.at, AuditEntry.entity, AuditEntry.entity_id)
        .where(AuditEntry.id > after)
        .order_by(AuditEntry.id)
        .execution_options(yield_per=batch)
    )
    for eid, at, entity, entity_id in session.execute(q):
        if at >= c or (entity, str(entity_id)) in open_things:
            break
        last = int(eid)
    return last


def fix_files(dirs: Iterable[Path], cut: date) -> list[Path]:
    """Files under the FIX store and log directories last modified before the cut-off day."""
    limit = start_of(cut).timestamp()
    found: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if p.is_file() and not p.is_symlink() and p.stat().st_mtime < limit:
                found.append(p)
    return found


def loose_activity_lines(session: Session, cut: Mapping[str, date]) -> set[int]:
    """Custodian activity lines past `ledger` that booked no booking of their own (cash-only lines
    posted in bulk); lines with a booking go with it."""
    return _ids(
        session,
        select(ActivityLine.id).where(
            ActivityLine.booking_id.is_(None), ActivityLine.trade_date < cut["ledger"]
        ),
    )
