"""Catch a natural key that appears twice in one file, naming the row that had it first."""

from __future__ import annotations

from collections.abc import Hashable

from engine.imports.cells import Cells


class FirstSeen:
    """Remembers the first row of each key."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.rows: dict[Hashable, int] = {}

    def claim(self, cells: Cells, column: str, key: Hashable, shown: str) -> bool:
        """True the first time `key` is seen; later rows get a duplicate problem on `column`."""
        first = self.rows.setdefault(key, cells.number)
        if first != cells.number:
            cells.problem(column, f"duplicate {self.label} {shown}: already on row {first}")
            return False
        return True
