"""A generic, table-driven state machine that writes its audit entry in the caller's transaction.

Orders, proposals, approval cases and reconciliation breaks each declare one `StateMachine`: a
table keyed by (current status, event) whose value is the next status, or a `Computed` target
that derives it from the moment's facts (an order's status before a cancel was asked, the
broker's own OrdStatus). Anything not in the table is `InvalidTransition`, nothing changes.

`fire` is the only writer of a status: it resolves the edge, sets the attribute and hands the
change to the machine's journal (the hash-chained audit log by default; the OMS's order_events
rows, which the audit hook chains, for orders) in the same session, so the change and its audit
entry commit or roll back together. A journal that raises refuses the transition (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from engine.errors import InvalidTransition
from engine.shared.concurrency import flush_or_conflict


@dataclass(frozen=True)
class Transition:
    """One change about to be journaled: what moved, from where, to where, on what, by whom."""

    machine: str
    entity_id: str
    before: str
    after: str
    event: str
    actor: str
    reason: str | None = None
    detail: Mapping[str, Any] | None = None


class Journal(Protocol):
    """Writes the audit entry of a transition in `session` (raise to refuse the transition)."""

    def __call__(self, session: Session, obj: Any, change: Transition) -> None: ...


@dataclass(frozen=True)
class Computed:
    """A target decided when the event happens: `pick(obj, facts)` returns the next status."""

    name: str
    pick: Callable[[Any, Mapping[str, Any]], str]

    def __str__(self) -> str:
        return f"<{self.name}>"


def audit_journal(session: Session, obj: Any, change: Transition) -> None:
    """The default journal: one hash-chained audit entry `<machine>.<event>` per transition."""
    from engine.audit.chain import record

    after: dict[str, Any] = {"status": change.after}
    if change.detail:
        after.update(change.detail)
    record(
        session,
        change.actor,
        f"{change.machine}.{change.event}",
        change.machine,
        change.entity_id,
        {"status": change.before},
        after,
        change.reason,
    )


Target = str | Computed


@dataclass(frozen=True)
class StateMachine:
    """The legal moves of one kind of thing and how each move is journaled.

    `name` names the thing in errors and audit actions ("proposal" -> "proposal.accept");
    `attr` is the status attribute on the ORM object; `initial` the statuses a new one may have.
    """

    name: str
    table: Mapping[tuple[str, str], Target]
    attr: str = "status"
    journal: Journal = field(default=audit_journal)
    initial: frozenset[str] = frozenset()

    def next(self, current: str, event: str, obj: Any = None, facts: Mapping[str, Any] | None = None) -> str:
        """The status after `event` from `current`, or InvalidTransition if the table has no edge."""
        target = self.table.get((str(current), str(event)))
        if target is None:
            raise InvalidTransition(self.name, str(current), str(event))
        if isinstance(target, Computed):
            return str(target.pick(obj, facts or {}))
        return str(target)

    def allows(self, current: str, event: str) -> bool:
        """Whether the table has an edge for `event` from `current` (for enabling a button)."""
        return (str(current), str(event)) in self.table

    def events_from(self, current: str) -> list[str]:
        """The events the table accepts from `current`, in table order."""
        return [e for (s, e) in self.table if s == str(current)]

    def statuses(self) -> set[str]:
        """Every status named by the table (plain targets and sources)."""
        out = set(self.initial)
        for (s, _), t in self.table.items():
            out.add(s)
            if not isinstance(t, Computed):
                out.add(t)
        return out

    def fire(
        self,
        session: Session,
        obj: Any,
        event: str,
        *,
        actor: str,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        entity_id: object = None,
    ) -> str:
        """Move `obj` on `event` as `actor` and journal it in `session`; returns the new status.

        Nothing is changed when the edge is missing or the journal raises (the caller's
        transaction rolls back with the exception)."""
        if not actor:
            raise InvalidTransition(self.name, str(getattr(obj, self.attr)), f"{event} without an actor")
        before = str(getattr(obj, self.attr))
        after = self.next(before, event, obj, facts)
        setattr(obj, self.attr, after)
        try:
            flush_or_conflict(session)  # another desk moved it first: ConcurrentChange
            ident = entity_id if entity_id is not None else getattr(obj, "id", None)
            change = Transition(self.name, str(ident), before, after, str(event), actor, reason, detail)
            self.journal(session, obj, change)
        except BaseException:
            setattr(obj, self.attr, before)
            raise
        return after

    def fire_many(
        self, session: Session, objs: Iterable[Any], event: str, *, actor: str, reason: str | None = None
    ) -> list[str]:
        """`fire` for each object in order (all or nothing with the caller's transaction)."""
        return [self.fire(session, o, event, actor=actor, reason=reason) for o in objs]
