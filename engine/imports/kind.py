"""What every import kind provides: its columns, a check that plans the writes, and the writer.

`check` reads the store and the whole file, appends every problem it finds and returns a plan;
`write` applies a plan that had no problems. Both run inside the same transaction. A kind whose
writes record who acted (model versions) gives `write_as`, which also takes the import's actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports.access import Actor
from engine.imports.csvread import Table

P = TypeVar("P")


class Outcome(StrEnum):
    """What an upsert did to one row's target."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class Counts:
    """Rows inserted, updated and left unchanged; `removed` counts model components dropped."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


@dataclass(frozen=True)
class Kind(Generic[P]):
    """One importable file type, e.g. `securities`."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Callable[[Session, Table, list[Problem]], P]
    write: Callable[[Session, P], Counts]
    write_as: Callable[[Session, P, Actor], Counts] | None = None


AnyKind = Kind[Any]
