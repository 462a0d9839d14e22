"""Read an import CSV into rows numbered as a spreadsheet shows them (header = row 1).

Header names are matched case-insensitively. Every header problem (a missing required column,
an unknown or repeated column, an unreadable file) is a Problem on row 1, so a typo in a column
name is reported instead of silently ignored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Problem

FILE = "(file)"
"""Column name used for problems that belong to the whole file or a whole row."""


@dataclass(frozen=True)
class Row:
    """One data row: its spreadsheet row number and its values by (lower-case) column name."""

    number: int
    values: dict[str, str]


@dataclass
class Table:
    """The rows of a file, the columns its header named, and the problems found while reading."""

    source: str
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def has(self, column: str) -> bool:
        return column in self.columns


def read_csv(path: Path, required: Iterable[str], optional: Iterable[str] = ()) -> Table:
    """Read `path` (UTF-8, a BOM is fine); values are stripped, fully blank rows are skipped."""
    required, optional = tuple(required), tuple(optional)
    table = Table(source=path.name, columns=())
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            records = list(_records(csv.reader(f), table))
    except UnicodeDecodeError as exc:
        table.problems.append(Problem(1, FILE, f"file is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return table
    if not records:
        table.problems.append(Problem(1, FILE, "file is empty: expected a header row"))
        return table
    header = [h.strip().lower() for h in records[0][1]]
    table.columns = tuple(h for h in header if h)
    _check_header(header, required, optional, table)
    for number, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            table.problems.append(
                Problem(number, FILE, f"row has {len(cells)} values but the header has {len(header)} columns")
            )
            continue
        for name, cell in zip(header, cells):
            if not name and cell.strip():
                table.problems.append(
                    Problem(number, FILE, f"value {cell.strip()!r} is in a column with no header")
                )
        values = {name: cell.strip() for name, cell in zip(header, cells) if name}
        table.rows.append(Row(number, values))
    return table


def _records(reader: Iterable[list[str]], table: Table) -> Iterable[tuple[int, list[str]]]:
    """Records with their row numbers; a CSV syntax error ends reading with a problem."""
    number = 0
    it = iter(reader)
    while True:
        number += 1
        try:
            cells = next(it)
        except StopIteration:
            return
        except csv.Error as exc:
            table.problems.append(Problem(number, FILE, f"unreadable CSV: {exc}"))
            return
        yield number, cells


def _check_header(
    header: list[str], required: tuple[str, ...], optional: tuple[str, ...], table: Table
) -> None:
    known = set(required) | set(optional)
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            table.problems.append(Problem(1, name, f"column {name!r} appears more than once"))
        elif name not in known:
            table.problems.append(
                Problem(1, name, f"unknown column {name!r}; expected {', '.join(required + optional)}")
            )
        seen.add(name)
    for name in required:
        if name not in seen:
            table.problems.append(Problem(1, name, f"missing required column {name!r}"))
