"""Small store helpers for upserts on natural keys: change only what differs, load in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import QueryableAttribute, Session

from engine.imports.kind import Outcome

T = TypeVar("T")

CHUNK = 500
"""Values per IN (...) list: well inside SQLite's and PostgreSQL's parameter limits."""


def assign(obj: object, fields: Mapping[str, Any]) -> bool:
    """Set the attributes that differ (Decimal('2') equals Decimal('2.00')); True if any did."""
    changed = False
    for name, value in fields.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def upsert(
    session: Session, existing: T | None, factory: type[T], fields: Mapping[str, Any]
) -> tuple[T, Outcome]:
    """Update `existing` in place, or add a new `factory(**fields)`; says which happened."""
    if existing is None:
        obj = factory(**fields)
        session.add(obj)
        return obj, Outcome.INSERTED
    return existing, Outcome.UPDATED if assign(existing, fields) else Outcome.UNCHANGED


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_where_in(
    session: Session, entity: type[T], column: QueryableAttribute[Any], values: Sequence[Any]
) -> list[T]:
    """Every `entity` row whose `column` is one of `values`, queried a chunk at a time."""
    rows: list[T] = []
    for batch in chunks(sorted(set(values))):
        rows.extend(session.scalars(select(entity).where(column.in_(batch))))
    return rows
