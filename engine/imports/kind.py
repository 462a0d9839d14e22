"""What every import kind provides: its columns, a check that plans the writes, and the writer.

`check` reads the store and the whole file, appends every problem it finds and returns a plan;
`write` applies a plan that had no problems. Both run inside the same transaction. A kind whose
writes record who acted (model versions) gives `write_as`, which also takes the import's actor.
A kind whose files are not our CSV (the ECB's published files) gives `read`, which turns the file
into something with a `source`, its `rows` and the `problems` met reading it, as a Table has.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports.access import Actor

P = TypeVar("P")


class Outcome(StrEnum):
    """What an upsert did to one row's target."""

    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class Counts:
    """Rows inserted, updated and left unchanged; `removed` counts model components dropped.

    `details` holds what a kind adds to its result (the ECB file's form, rates skipped, ...).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


class Source(Protocol):
    """A file as read: its name, its data rows and the problems found reading it (a Table is one)."""

    source: str
    problems: list[Problem]

    @property
    def rows(self) -> Sized: ...


@dataclass(frozen=True)
class Kind(Generic[P]):
    """One importable file type, e.g. `securities`."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Callable[[Session, Any, list[Problem]], P]
    write: Callable[[Session, P], Counts]
    write_as: Callable[[Session, P, Actor], Counts] | None = None
    read: Callable[[Path], Source] | None = None
    """How the file is read; None for our CSV (`read_csv` with `required` and `optional`)."""


AnyKind = Kind[Any]
