"""A typed, thread-safe, synchronous event bus. Events are immutable dataclasses.

Services publish after their transaction commits; subscribers (the UI bridge, the OMS,
tests) receive events of the type they subscribed to and of its subclasses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every engine event. Subclasses must also be frozen dataclasses."""

    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


E = TypeVar("E", bound=Event)


class Subscription(Generic[E]):
    """Handle returned by subscribe; call unsubscribe() (or use as a context manager) to stop."""

    def __init__(self, bus: EventBus, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._bus = bus
        self.event_type = event_type
        self.handler = handler
        self.active = True

    def unsubscribe(self) -> None:
        if self.active:
            self._bus._remove(self)
            self.active = False

    def __enter__(self) -> Subscription[E]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unsubscribe()


class EventBus:
    """Delivers each published event to the handlers subscribed to its type or a base type.

    A handler that raises is logged and does not stop delivery to the others: one broken
    panel must never stop the OMS from hearing about a fill.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._subs: dict[type[Event], list[Subscription[Any]]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Subscription[E]:
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise TypeError(f"{event_type!r} is not an Event type")
        sub: Subscription[E] = Subscription(self, event_type, handler)
        with self._lock:
            self._subs.setdefault(event_type, []).append(sub)
        return sub

    def _remove(self, sub: Subscription[Any]) -> None:
        with self._lock:
            subs = self._subs.get(sub.event_type, [])
            if sub in subs:
                subs.remove(sub)

    def subscriber_count(self, event_type: type[Event] | None = None) -> int:
        with self._lock:
            if event_type is None:
                return sum(len(v) for v in self._subs.values())
            return len(self._subs.get(event_type, []))

    def publish(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"{event!r} is not an Event")
        with self._lock:
            targets = [s for t in type(event).__mro__ for s in self._subs.get(t, ())]
        for sub in targets:
            if not sub.active:
                continue
            try:
                sub.handler(event)
            except Exception:
                log.exception("event handler %r failed on %r", sub.handler, event)


@dataclass(frozen=True, kw_only=True)
class BookChanged(Event):
    """Reference or position data changed in bulk (an import, a demo build)."""

    kind: str
    rows: int
