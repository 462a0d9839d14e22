"""The exact bytes an audit entry's hash covers, so writer and verifier can never disagree."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"audit: cannot record a {type(value).__name__}")


class _NotPlain(Exception):
    """A value the shortcut does not copy itself (the JSON round trip decides)."""


def _plain(value: Any) -> Any:
    """What the JSON round trip below makes of `value`, for the exact types it handles here: str,
    int, bool, None, finite float, Decimal, aware or naive datetime, and lists, tuples and dicts
    with str keys of those (keys sorted); anything else raises _NotPlain."""
    t = type(value)
    if value is None or t is str or t is int or t is bool:
        return value
    if t is dict:
        if not all(type(k) is str for k in value):
            raise _NotPlain
        return {k: _plain(value[k]) for k in sorted(value)}
    if t is list or t is tuple:
        return [_plain(v) for v in value]
    if t is Decimal:
        return str(value)
    if t is float and math.isfinite(value):
        return value
    if t is datetime:
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    raise _NotPlain


def canonical_json(value: Any) -> Any:
    """`value` as plain JSON data (Decimal and dates as strings): what is stored and hashed. The
    usual values (an order's status, event and detail) are copied directly, which gives what the
    JSON round trip gives (tests/engine/audit/test_canonical_plain.py) at a fraction of its cost: three
    entries an order, on the engine thread; any other value takes the round trip."""
    if value is None:
        return None
    try:
        return _plain(value)
    except (_NotPlain, RecursionError):  # a cycle: the round trip says so as it always did
        return json.loads(json.dumps(value, default=_default, sort_keys=True))


def stamp(at: datetime) -> str:
    """A UTC instant with microseconds, as both databases keep it."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str | None,
    at: datetime,
    username: str,
    action: str,
    entity: str,
    entity_id: str | None,
    before: Any,
    after: Any,
    reason: str | None,
) -> str:
    """SHA-256 over the previous hash and every recorded field, as canonical JSON."""
    body = json.dumps(
        [prev_hash, stamp(at), username, action, entity, entity_id, before, after, reason],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
