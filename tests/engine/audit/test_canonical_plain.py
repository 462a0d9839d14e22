"""canonical_json's shortcut gives exactly what the JSON round trip gives (same data, same key order,
same types, same hash), for random nested values of every type it copies itself and of the types it
leaves to the round trip; and what the round trip refuses is still refused."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest

from engine.audit.canonical import _default, canonical_json, entry_hash


class Status(StrEnum):
    NEW = "new"


def round_trip(value: Any) -> Any:
    """The code before the shortcut."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def leaf(rng: random.Random) -> Any:
    return rng.choice([
        None, True, False, 0, -7, 2**70, 1.5, -0.0, 1e300, "", "new", "ünï ☃", "a\x01b", Status.NEW,
        Decimal("100.500"), Decimal("1E+2"), Decimal("-0"), Decimal("NaN"),
        datetime(2026, 12, 7, 23, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 12, 7, 23, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 12, 7),
        frozenset({"b", "a"}), {"z", "y"},
    ])  # fmt: skip


def value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.random()
    if depth > 3 or kind < 0.4:
        return leaf(rng)
    if kind < 0.6:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind < 0.7:
        return tuple(value(rng, depth + 1) for _ in range(rng.randrange(4)))
    keys = ["status", "event", "detail", "exec_id", "b", "a", "Z", "é", "10", "9"]
    d = {rng.choice(keys): value(rng, depth + 1) for _ in range(rng.randrange(6))}
    if rng.random() < 0.05:
        d[1] = "int key"  # type: ignore[index]
    return d


def test_the_shortcut_is_the_round_trip() -> None:
    rng = random.Random(23)
    now = datetime(2026, 12, 8, tzinfo=UTC)
    for n in range(5000):
        v = value(rng)
        try:
            expected = round_trip(v)
        except (TypeError, ValueError) as exc:  # mixed keys sort_keys cannot order, a NaN Decimal ...
            with pytest.raises(type(exc)):
                canonical_json(v)
            continue
        got = canonical_json(v)
        assert json.dumps(got) == json.dumps(expected), n  # key order and types, not only equality
        assert type(got) is type(expected)
        assert entry_hash(None, now, "u", "a", "e", "1", got, got, None) == entry_hash(
            None, now, "u", "a", "e", "1", expected, expected, None
        )


def test_an_orders_entry_is_copied_as_the_round_trip_copies_it() -> None:
    after = {"status": "filled", "event": "fill", "detail": {"exec_id": "E1", "last_qty": "100",
             "poss_dup": False, "market": "XNAS", "outside_hours": False}}  # fmt: skip
    assert json.dumps(canonical_json(after)) == json.dumps(round_trip(after))
    assert list(canonical_json(after)["detail"]) == sorted(after["detail"])  # type: ignore[index]


def test_what_the_round_trip_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"x": object()})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(ValueError):
        canonical_json({"x": cycle})
    with pytest.raises(TypeError):
        canonical_json({1: "a", "b": 2})  # sort_keys cannot order int and str keys
