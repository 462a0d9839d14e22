"""Parse one row column by column, turning every failure into a Problem on that row and column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import Problem
from engine.imports.csvread import Row, Table
from engine.imports.parse import ParseError

T = TypeVar("T")


class Cells:
    """One row's cells with typed getters. Problems go to the shared list; `ok` says if none did."""

    def __init__(self, table: Table, row: Row, problems: list[Problem]) -> None:
        self.table = table
        self.row = row
        self.number = row.number
        self._problems = problems
        self._start = len(problems)

    @property
    def ok(self) -> bool:
        """True while this row has added no problem."""
        return len(self._problems) == self._start

    def text(self, column: str) -> str:
        """The stripped cell text, '' when empty or when the column is absent."""
        return self.row.values.get(column, "")

    def problem(self, column: str, reason: str) -> None:
        self._problems.append(Problem(self.number, column, reason))

    def required(self, column: str, parser: Callable[[str], T]) -> T | None:
        """The parsed value; None after reporting a problem (a missing column is reported on row 1)."""
        text = self.text(column)
        if not text:
            if self.table.has(column):
                self.problem(column, f"missing value for required column {column!r}")
            return None
        return self._parse(column, text, parser)

    def optional(self, column: str, parser: Callable[[str], T], default: T | None = None) -> T | None:
        """The parsed value, or `default` when the cell is empty or the column is absent."""
        text = self.text(column)
        return self._parse(column, text, parser) if text else default

    def put(
        self,
        fields: dict[str, object],
        column: str,
        parser: Callable[[str], T],
        *,
        default: Any = None,
        attr: str | None = None,
    ) -> T | None:
        """Parse an optional column into fields[attr] only if the file has it.

        An absent column leaves the stored field as it is; an empty cell sets `default`.
        """
        if not self.table.has(column):
            return None
        value = self.optional(column, parser, default)
        fields[attr or column] = value
        return value

    def _parse(self, column: str, text: str, parser: Callable[[str], T]) -> T | None:
        try:
            return parser(text)
        except ParseError as exc:
            self.problem(column, f"{column} {exc}")
            return None
