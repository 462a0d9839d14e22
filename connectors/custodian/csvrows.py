"""A CSV file's records as the csv module reads them, handed over column by column.

A file without quote characters (what custodians send in practice) is split by plain string
operations in C: the lines, then every cell of the well-formed lines at once, then each column as
a slice, so no list per row is built; when every line is regular, pandas' C tokenizer splits the
cells straight into object arrays (connectors.custodian.csvcolumns). A file with quotes, stray carriage returns or NUL characters
is read by csv.reader, as before. Either way `row(i)` is the record csv.reader gives for data row
i, and data rows are numbered as records (header = row 1; a blank line is a row).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt

from connectors.custodian.csvcolumns import split_columns


class Rows:
    """The header and data records of a CSV text."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.delimiter = delimiter
        self._rows: list[list[str]] | None = None
        self._plain: str | None = None
        plain = text.replace("\r\n", "\n") if "\r" in text else text
        if '"' in plain or "\r" in plain or "\0" in plain:
            self._rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        else:
            self._plain = plain

    @cached_property
    def _lines(self) -> list[str]:
        """The records of a plain text, one string each (split on first use)."""
        lines = (self._plain or "").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def __len__(self) -> int:
        """Records, header included."""
        if self._plain is not None:
            return self._plain.count("\n") + (0 if self._plain.endswith("\n") or not self._plain else 1)
        return len(self._rows or [])

    def row(self, i: int) -> list[str]:
        """Record i (0 = header) as csv.reader reads it."""
        if self._plain is not None:
            first = i == 0 and "_lines" not in self.__dict__  # the header: no need to split the rest
            line = self._plain.partition("\n")[0] if first else self._lines[i]
            return line.split(self.delimiter) if line else []
        assert self._rows is not None
        return self._rows[i]

    def body(self) -> list[list[str]]:
        """Every data record as a list (the row-by-row reading)."""
        return [self.row(i) for i in range(1, len(self))]

    def _irregular(self, width: int) -> npt.NDArray[np.bool_]:
        """Per data line: empty, or not `width - 1` delimiters (counted over the bytes, vectorised)."""
        raw = np.frombuffer((self._plain or "").encode("utf-8"), dtype=np.uint8)  # both marks are ASCII
        breaks = np.flatnonzero(raw == 10)
        total = len(self)
        starts = np.concatenate(([0], breaks + 1))[:total]
        ends = np.concatenate((breaks, [len(raw)]))[:total]
        marks = np.flatnonzero(raw == ord(self.delimiter))
        counts = np.searchsorted(marks, ends) - np.searchsorted(marks, starts)
        return ((counts != width - 1) | (ends == starts))[1:]

    def columns(self, width: int) -> tuple[Sequence[Sequence[str]], npt.NDArray[np.bool_]]:
        """(cells of each of `width` columns, irregular): a data row whose record has another
        number of fields is irregular, and its cells here are empty."""
        n = len(self) - 1
        if n <= 0:
            return [[] for _ in range(width)], np.zeros(0, dtype=bool)
        if self._plain is not None:
            d = self.delimiter
            if d.isascii():
                irregular = self._irregular(width)
            else:
                irregular = np.fromiter(
                    (ln.count(d) != width - 1 or not ln for ln in self._lines[1:]), dtype=bool, count=n
                )
            if not irregular.any():
                split = split_columns(self._plain, d, width, n)
                if split is not None:
                    return split, irregular
            body = self._lines[1:]
            if irregular.any():
                stand_in = d * (width - 1)
                body = [stand_in if bad else ln for ln, bad in zip(body, irregular.tolist())]
            flat = d.join(body).split(d) if width > 1 else body
            return [flat[i::width] for i in range(width)], irregular
        assert self._rows is not None
        records = self._rows[1:]
        irregular = np.fromiter((len(r) != width for r in records), dtype=bool, count=n)
        if irregular.any():
            blank = [""] * width
            records = [blank if bad else r for r, bad in zip(records, irregular.tolist())]
        return [list(c) for c in zip(*records)], irregular
