"""The exact bytes an audit entry's hash covers, so writer and verifier can never disagree."""

from __future__ import annotations

import hashlib
import json
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


def canonical_json(value: Any) -> Any:
    """`value` as plain JSON data (Decimal and dates as strings): what is stored and hashed."""
    if value is None:
        return None
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
