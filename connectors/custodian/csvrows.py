"""A CSV file's records as the csv module reads them, handed over column by column.

A file without quote characters (what custodians send in practice) is split by plain string
operations in C: the lines, then every cell of the well-formed lines at once, then each column as
a slice, so no list per row is built. A file with quotes, stray carriage returns or NUL characters
is read by csv.reader, as before. Either way `row(i)` is the record csv.reader gives for data row
i, and data rows are numbered as records (header = row 1; a blank line is a row).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import numpy.typing as npt


class Rows:
    """The header and data records of a CSV text."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.delimiter = delimiter
        self._lines: list[str] | None = None
        self._rows: list[list[str]] | None = None
        self._plain = ""
        plain = text.replace("\r\n", "\n")
        if '"' in plain or "\r" in plain or "\0" in plain:
            self._rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        else:
            lines = plain.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            self._lines = lines
            self._plain = plain

    def __len__(self) -> int:
        """Records, header included."""
        return len(self._lines) if self._lines is not None else len(self._rows or [])

    def row(self, i: int) -> list[str]:
        """Record i (0 = header) as csv.reader reads it."""
        if self._lines is not None:
            line = self._lines[i]
            return line.split(self.delimiter) if line else []
        assert self._rows is not None
        return self._rows[i]

    def body(self) -> list[list[str]]:
        """Every data record as a list (the row-by-row reading)."""
        return [self.row(i) for i in range(1, len(self))]

    def _irregular(self, width: int) -> npt.NDArray[np.bool_]:
        """Per data line: empty, or not `width - 1` delimiters (counted over the bytes, vectorised)."""
        raw = np.frombuffer(self._plain.encode("utf-8"), dtype=np.uint8)  # both marks are ASCII
        breaks = np.flatnonzero(raw == 10)
        total = len(self._lines or [])
        starts = np.concatenate(([0], breaks + 1))[:total]
        ends = np.concatenate((breaks, [len(raw)]))[:total]
        marks = np.flatnonzero(raw == ord(self.delimiter))
        counts = np.searchsorted(marks, ends) - np.searchsorted(marks, starts)
        return ((counts != width - 1) | (ends == starts))[1:]

    def columns(self, width: int) -> tuple[list[list[str]], npt.NDArray[np.bool_]]:
        """(cells of each of `width` columns, irregular): a data row whose record has another
        number of fields is irregular, and its cells here are empty."""
        n = len(self) - 1
        if n <= 0:
            return [[] for _ in range(width)], np.zeros(0, dtype=bool)
        if self._lines is not None:
            body = self._lines[1:]
            d = self.delimiter
            if d.isascii():
                irregular = self._irregular(width)
            else:
                irregular = np.fromiter(
                    (ln.count(d) != width - 1 or not ln for ln in body), dtype=bool, count=n
                )
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
