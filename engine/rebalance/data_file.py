"""Rows of a rebalance data file (substitute lists, equivalents): a CSV with named columns, read
as the desk wrote it; an unreadable file or a missing column is one clear error."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from engine.errors import ImportValidationError, Problem


def csv_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(row number as a spreadsheet shows it, the stripped values of `columns`) for each row."""
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ImportValidationError(str(path), [Problem(0, "file", f"cannot read: {exc.strerror}")]) from exc
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportValidationError(str(path), [Problem(1, c, "missing column") for c in missing])
        for row_no, row in enumerate(reader, start=2):
            yield row_no, tuple(str(row.get(c) or "").strip() for c in columns)
