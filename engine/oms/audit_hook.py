"""Every order_events row also goes to the tamper-evident audit chain, in the same transaction.

Order state changes are written two ways: ORM `OrderEvent` objects (engine.oms.journal) and Core
bulk inserts into `order_events` (blocks and their children). Session listeners catch both, so
no code path can change an order's state without an audit entry:

- before_flush: new OrderEvent objects (their `at` is fixed here so both rows share it);
- do_orm_execute: `insert(order_events)` statements with their parameter rows;
- before_commit of the outermost transaction: flush, then append everything collected as one
  batched chain append (a savepoint's release appends nothing yet).

Entries collected inside a savepoint that rolls back are dropped with it; a rolled-back
transaction drops them all. Each entry: who (the event's user, or "oms" for broker reports),
when, action "order.state", entity "order" and its id, before {"status"}, after {"status",
"event", "detail"}, reason (the detail's reason, else the event kind).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from engine.audit.batch import AuditDraft, record_many
from engine.oms.tables import OrderEvent

PENDING = "oms_audit_pending"
MARKS = "oms_audit_marks"
COLUMNS = ("order_id", "at", "kind", "status_from", "status_to", "username", "detail")
SYSTEM_USER = "oms"
"""Who an order change is attributed to when no desk user made it (execution reports)."""


def draft(row: dict[str, Any]) -> AuditDraft:
    """The audit entry for one order_events row (a dict of its columns)."""
    detail = row.get("detail")
    reason = detail.get("reason") if isinstance(detail, dict) else None
    return AuditDraft(
        username=row.get("username") or SYSTEM_USER,
        action="order.state",
        entity="order",
        entity_id=str(row["order_id"]),
        before={"status": row.get("status_from")},
        after={"status": row.get("status_to"), "event": row.get("kind"), "detail": detail},
        reason=str(reason) if reason else row.get("kind"),
        at=row.get("at") or datetime.now(UTC),
    )


def _pending(session: Session) -> list[AuditDraft]:
    return session.info.setdefault(PENDING, [])


@event.listens_for(Session, "before_flush")
def _collect_objects(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    for obj in session.new:
        if isinstance(obj, OrderEvent):
            obj.at = obj.at or datetime.now(UTC)
            _pending(session).append(draft({c: getattr(obj, c) for c in COLUMNS}))


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    stmt = state.statement
    if not isinstance(stmt, Insert) or getattr(stmt.table, "name", None) != OrderEvent.__tablename__:
        return
    params: Any = state.parameters
    rows: list[Any] = params if isinstance(params, list) else [params] if params else []
    _pending(state.session).extend(draft(dict(r)) for r in rows)


@event.listens_for(Session, "before_commit")
def _append(session: Session) -> None:
    # SQLAlchemy fires before_commit for a savepoint's release too: its entries wait for the
    # outermost commit (one chain append per transaction, not one per savepoint of a batch), and
    # still go if an enclosing savepoint rolls back (its mark, below).
    if not session.info.get(PENDING) or session.in_nested_transaction():
        return
    session.flush()  # OrderEvents still unflushed are collected now, not after this hook
    drafts = session.info.pop(PENDING)
    session.info.pop(MARKS, None)
    record_many(session, drafts)


@event.listens_for(Session, "after_transaction_create")
def _mark(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(MARKS, {})[id(transaction)] = len(_pending(session))


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    marks: dict[int, int] = session.info.get(MARKS, {})
    if previous_transaction.nested and id(previous_transaction) in marks:
        del _pending(session)[marks.pop(id(previous_transaction)) :]
    elif previous_transaction.parent is None:
        session.info.pop(PENDING, None)
        session.info.pop(MARKS, None)
