"""A generic, table-driven state machine that writes its audit entry in the caller's transaction.

Orders, proposals, approval cases and reconciliation breaks each declare one `StateMachine`: a
table keyed by (current status, event) whose value is the next status, or a `Computed` target
that derives it from the moment's facts (an order's status before a cancel was asked, the
broker's own OrdStatus). Anything not in the table is `InvalidTransition`, nothing changes.

`fire` is the only writer of a status: it resolves the edge, sets the attribute (and the fields
that move with it, `also`) and hands the change to the machine's journal (the hash-chained
audit log by default; the OMS's order_events rows, which the audit hook chains, for orders) in
the same session, so the change and its audit entry commit or roll back together. A journal
that raises refuses the transition (fail closed). `start` and `insert_many` give a new object
its first status, which must be one of the machine's `initial` ones, and journal that too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from engine.errors import InvalidTransition
from engine.shared.concurrency import flush_or_conflict


@dataclass(frozen=True)
class Transition:
    """One change about to be journaled: what moved, from where, to where, on what, by whom.

    `before` is None when the object is new (its first status); `prior` holds the old values of
    the fields that moved with the status (`detail` carries their new values)."""

    machine: str
    entity_id: str
    before: str | None
    after: str
    event: str
    actor: str
    reason: str | None = None
    detail: Mapping[str, Any] | None = None
    prior: Mapping[str, Any] | None = None


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


def _machine_entity(obj: Any, change: Transition) -> tuple[str, str]:
    return change.machine, change.entity_id


def _action(change: Transition) -> str:
    return f"{change.machine}.{change.event}"


def _nothing(obj: Any) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class AuditJournal:
    """Journals each transition as one hash-chained audit entry.

    By default the action is `<machine>.<event>`, the entity the machine's name and the entity
    id the object's id; before/after are `{key: status}` plus `extra(obj)` (fields worth seeing
    on both sides, e.g. an approval case's outcome), the moved fields and the detail. A machine
    whose audit names predate it passes its own `entity` and `action`.
    """

    key: str = "status"
    entity: Callable[[Any, Transition], tuple[str, str]] = _machine_entity
    action: Callable[[Transition], str] = _action
    extra: Callable[[Any], Mapping[str, Any]] = _nothing

    def draft(self, obj: Any, change: Transition) -> Any:
        from engine.audit.batch import AuditDraft

        extra = dict(self.extra(obj)) if obj is not None else {}
        before = None if change.before is None else {self.key: change.before, **extra, **(change.prior or {})}
        after = {self.key: change.after, **extra, **(change.detail or {})}
        entity, entity_id = self.entity(obj, change)
        return AuditDraft(change.actor, self.action(change), entity, entity_id, before, after, change.reason)

    def __call__(self, session: Session, obj: Any, change: Transition) -> None:
        from engine.audit.chain import record

        d = self.draft(obj, change)
        record(session, d.username, d.action, d.entity, d.entity_id, d.before, d.after, d.reason)

    def many(self, session: Session, pairs: Sequence[tuple[Any, Transition]]) -> None:
        """All entries under one lock of the chain's head (bulk creations, a run's breaks)."""
        from engine.audit.batch import record_many

        record_many(session, [self.draft(obj, change) for obj, change in pairs])


audit_journal = AuditJournal()
"""The default journal: one hash-chained audit entry `<machine>.<event>` per transition."""

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
            what = self.name if obj is None else f"{self.name} {getattr(obj, 'id', '')}".strip()
            raise InvalidTransition(what, str(current), str(event))
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

    def _journal_all(self, session: Session, pairs: Sequence[tuple[Any, Transition]]) -> None:
        many = getattr(self.journal, "many", None)
        if many is not None:
            many(session, pairs)
        else:
            for obj, change in pairs:
                self.journal(session, obj, change)

    def _first(self, status: str, event: str) -> str:
        if str(status) not in self.initial:
            raise InvalidTransition(f"new {self.name}", "nothing", f"{event} as {status}")
        return str(status)

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
        also: Mapping[str, Any] | None = None,
    ) -> str:
        """Move `obj` on `event` as `actor` and journal it in `session`; returns the new status.

        `also` names other attributes that change with the status (a break's resolution); they
        are set with it, journaled with it and put back with it. Nothing is changed when the edge
        is missing or the journal raises (the caller's transaction rolls back with the exception)."""
        return self._fire_all(session, [obj], event, actor=actor, reason=reason, detail=detail,
                              facts=facts, entity_id=entity_id, also=also)[0]  # fmt: skip

    def fire_many(
        self,
        session: Session,
        objs: Iterable[Any],
        event: str,
        *,
        actor: str,
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
        also: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """`fire` for each object (all or nothing): one flush, the entries under one head lock."""
        return self._fire_all(
            session, list(objs), event, actor=actor, reason=reason, detail=detail, also=also, facts=facts
        )

    def _fire_all(
        self,
        session: Session,
        objs: list[Any],
        event: str,
        *,
        actor: str,
        reason: str | None,
        detail: Mapping[str, Any] | None,
        facts: Mapping[str, Any] | None = None,
        entity_id: object = None,
        also: Mapping[str, Any] | None = None,
    ) -> list[str]:
        if not objs:
            return []
        if not actor:
            raise InvalidTransition(self.name, str(getattr(objs[0], self.attr)), f"{event} without an actor")
        moved = dict(also or {})
        plan = [(o, str(getattr(o, self.attr)), {k: getattr(o, k) for k in moved}) for o in objs]
        targets = [self.next(before, event, o, facts) for o, before, _ in plan]  # all checked first
        try:
            for (o, _, _), after in zip(plan, targets):
                setattr(o, self.attr, after)
                for k, v in moved.items():
                    setattr(o, k, v)
            flush_or_conflict(session)  # another desk moved it first: ConcurrentChange
            pairs = []
            for (o, before, prior), after in zip(plan, targets):
                ident = entity_id if entity_id is not None else getattr(o, "id", None)
                info = {**moved, **(detail or {})} or None
                pairs.append((o, Transition(self.name, str(ident), before, after, str(event), actor, reason,
                                            info, prior or None)))  # fmt: skip
            self._journal_all(session, pairs)
        except BaseException:
            for o, before, prior in plan:
                setattr(o, self.attr, before)
                for k, v in prior.items():
                    setattr(o, k, v)
            raise
        return targets

    def start(
        self,
        session: Session,
        obj: Any,
        status: str,
        *,
        actor: str,
        event: str = "create",
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> str:
        """Give a new `obj` its first status (one of `initial`), add it and journal `event`."""
        return self.start_many(session, [(obj, status)], actor=actor, event=event, reason=reason,
                               detail=detail)[0]  # fmt: skip

    def start_many(
        self,
        session: Session,
        items: Iterable[tuple[Any, str]],
        *,
        actor: str,
        event: str = "create",
        reason: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """`start` for many new objects: one flush, their entries under one lock of the chain."""
        pairs = list(items)
        if not actor and pairs:
            raise InvalidTransition(f"new {self.name}", "nothing", f"{event} without an actor")
        out = []
        for obj, status in pairs:
            setattr(obj, self.attr, self._first(status, event))
            session.add(obj)
            out.append(str(status))
        session.flush()
        self._journal_all(
            session,
            [(o, Transition(self.name, str(getattr(o, "id", None)), None, s, event, actor, reason, detail))
             for (o, _), s in zip(pairs, out)],
        )  # fmt: skip
        return out

    def insert_many(
        self,
        session: Session,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        actor: str,
        event: str = "create",
        detail: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ) -> list[int]:
        """Insert new rows with a Core executemany (bulk paths) and journal each one's first
        status; returns their ids in the order given. `detail(row)` adds facts to each entry."""
        if not rows:
            return []
        if not actor:
            raise InvalidTransition(f"new {self.name}", "nothing", f"{event} without an actor")
        for r in rows:
            self._first(r[self.attr], event)
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = [int(i) for i in session.execute(stmt, list(rows)).scalars()]
        self._journal_all(
            session,
            [(None, Transition(self.name, str(i), None, str(r[self.attr]), event, actor, None,
                               None if detail is None else detail(r)))
             for i, r in zip(ids, rows)],
        )  # fmt: skip
        return ids
