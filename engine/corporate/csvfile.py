"""The corporate-action file (docs/accounting.md): UTF-8 CSV, a header row, one action per row.

Rows are numbered as a spreadsheet shows them (header = row 1). Every problem (an unknown or
missing column, a date that is not YYYY-MM-DD, a number that is not a number) names its row and
column; `parse` returns them all together with the rows that did parse, and `entry.load` adds
the problems only the book can see, so one run reports everything and writes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from engine.corporate.terms import ActionTerms
from engine.errors import Problem

REQUIRED = ("ref", "kind", "security", "ex_date")
DATES = ("announce_date", "record_date", "pay_date")
NUMBERS = ("ratio_new", "ratio_old", "amount", "allocation", "new_price", "lieu_price")
TEXTS = ("new_security", "new_symbol", "new_isin")
COLUMNS = REQUIRED + DATES + NUMBERS + TEXTS
FILE = "(file)"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_text(source: str, text: str) -> tuple[list[tuple[int, ActionTerms]], list[Problem]]:
    """(row number, terms) for every row that parses, and every problem found."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return [], [Problem(1, FILE, "empty file: expected a header row")]
    names = [h.strip().lower() for h in header]
    problems = [Problem(1, n or FILE, "unknown column") for n in names if n not in COLUMNS]
    problems += [Problem(1, n, "repeated column") for n in set(names) if names.count(n) > 1]
    problems += [Problem(1, n, "required column missing") for n in REQUIRED if n not in names]
    if problems:
        return [], problems
    out: list[tuple[int, ActionTerms]] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            problems.append(Problem(number, FILE, f"{len(cells)} cells, the header has {len(names)}"))
            continue
        values = {n: c.strip() for n, c in zip(names, cells)}
        kw: dict[str, Any] = {}
        bad = False
        for col in COLUMNS:
            raw = values.get(col, "")
            if not raw:
                if col in REQUIRED:
                    problems.append(Problem(number, col, "required"))
                    bad = True
                continue
            conv: Callable[[str], object] = (
                _date if col in DATES or col == "ex_date" else _number if col in NUMBERS else str
            )
            try:
                kw[col] = conv(raw)
            except ValueError as exc:
                problems.append(Problem(number, col, str(exc)))
                bad = True
        if not bad:
            kw["kind"] = str(kw["kind"]).lower()
            out.append((number, ActionTerms(**kw)))
    return out, problems


def parse_file(path: Path) -> tuple[list[tuple[int, ActionTerms]], list[Problem]]:
    """`parse_text` of a file (a BOM is allowed; bytes that are not UTF-8 are one problem)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [Problem(1, FILE, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    return parse_text(path.name, text)
