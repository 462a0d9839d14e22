"""The event bus delivers typed immutable events; clocks are injectable and timezone-aware."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.clock import ManualClock, SystemClock
from engine.events import BookChanged, Event, EventBus


@dataclasses.dataclass(frozen=True, kw_only=True)
class FillSeen(Event):
    order: str
    qty: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class BigFillSeen(FillSeen):
    pass


def test_subscribers_get_their_type_and_subtypes_only() -> None:
    bus = EventBus()
    fills: list[Event] = []
    books: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(FillSeen, fills.append)
    bus.subscribe(BookChanged, books.append)
    bus.subscribe(Event, everything.append)
    bus.publish(FillSeen(order="A", qty=1))
    bus.publish(BigFillSeen(order="B", qty=1000))
    bus.publish(BookChanged(kind="lots", rows=3))
    assert [e.order for e in fills] == ["A", "B"]  # type: ignore[attr-defined]
    assert books == [BookChanged(kind="lots", rows=3, occurred_at=books[0].occurred_at)]
    assert len(everything) == 3


def test_events_are_immutable() -> None:
    event = FillSeen(order="A", qty=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.qty = 2  # type: ignore[misc]
    assert event.occurred_at.tzinfo is not None


def test_unsubscribe_stops_delivery_and_context_manager_unsubscribes() -> None:
    bus = EventBus()
    got: list[Event] = []
    sub = bus.subscribe(FillSeen, got.append)
    bus.publish(FillSeen(order="A", qty=1))
    sub.unsubscribe()
    sub.unsubscribe()  # twice is harmless
    bus.publish(FillSeen(order="B", qty=1))
    with bus.subscribe(FillSeen, got.append):
        bus.publish(FillSeen(order="C", qty=1))
    bus.publish(FillSeen(order="D", qty=1))
    assert [e.order for e in got] == ["A", "C"]  # type: ignore[attr-defined]
    assert bus.subscriber_count() == 0


def test_a_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    got: list[Event] = []

    def broken(_: Event) -> None:
        raise RuntimeError("panel crashed")

    bus.subscribe(FillSeen, broken)
    bus.subscribe(FillSeen, got.append)
    bus.publish(FillSeen(order="A", qty=1))
    assert len(got) == 1
    assert "panel crashed" in caplog.text


def test_only_events_are_accepted() -> None:
    bus = EventBus()
    with pytest.raises(TypeError):
        bus.subscribe(dict, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bus.publish({"not": "an event"})  # type: ignore[arg-type]


def test_publish_from_many_threads_delivers_every_event() -> None:
    bus = EventBus()
    got: list[Event] = []
    lock = threading.Lock()

    def handler(e: Event) -> None:
        with lock:
            got.append(e)

    bus.subscribe(FillSeen, handler)
    threads = [
        threading.Thread(target=lambda i=i: [bus.publish(FillSeen(order=f"{i}", qty=n)) for n in range(500)])
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4000


def test_manual_clock_is_settable_and_zone_aware() -> None:
    clock = ManualClock(datetime(2026, 3, 8, 6, 30, tzinfo=UTC), user_tz="America/New_York")
    assert clock.today() == datetime(2026, 3, 8).date()  # 01:30 in New York
    assert clock.today(ZoneInfo("Asia/Tokyo")).isoformat() == "2026-03-08"
    clock.advance(timedelta(hours=20))
    assert clock.now() == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)
    assert clock.today() == datetime(2026, 3, 8).date()  # still the 8th in New York (22:30 EDT)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="naive"):
        clock.set(datetime(2026, 1, 1))


def test_system_clock_is_utc() -> None:
    now = SystemClock("Europe/London").now()
    assert now.utcoffset() == timedelta(0)
