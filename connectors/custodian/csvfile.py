"""Read a custodian CSV (the generic format, or a custodian's profile) into a ParsedStatement.

Every problem in the file is collected (row as a spreadsheet numbers it, header = row 1; field;
reason) and the file is refused whole with ImportValidationError: nothing is half-read.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from connectors.custodian.fields import (
    FieldError,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_identifier,
)
from connectors.custodian.profile import CASH_FIELDS, POSITION_FIELDS, Profile
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import CashLine, ParsedStatement, PositionLine

FILE = "(file)"
GENERIC_POSITIONS = (
    "custodian",
    "account",
    "security_id",
    "id_type",
    "quantity",
    "currency",
    "market_value",
    "as_of",
)
GENERIC_CASH = ("custodian", "account", "currency", "amount", "as_of")


def _columns(profile: Profile, kind: str) -> dict[str, str]:
    """field -> column header (lower case) for this profile and kind."""
    if profile.format == "generic-csv":
        names = GENERIC_POSITIONS if kind == "positions" else GENERIC_CASH
        return {n: n for n in names}
    spec = profile.csv.positions if kind == "positions" else profile.csv.cash
    return {k: v.lower() for k, v in spec.items()}


def _kind(profile: Profile, header: set[str]) -> str | None:
    pos, cash = _columns(profile, "positions"), _columns(profile, "cash")
    if pos["quantity"] in header:
        return "positions"
    if cash["amount"] in header:
        return "cash"
    return None


def read_csv_statement(path: Path, profile: Profile, data: bytes | None = None) -> ParsedStatement:
    """Parse one CSV file for `profile.name`; raises ImportValidationError listing every problem."""
    source = path.name
    raw = data if data is not None else path.read_bytes()
    lay = profile.csv
    try:
        text = raw.decode(lay.encoding)
    except UnicodeDecodeError as exc:
        raise ImportValidationError(
            source, [Problem(1, FILE, f"not {lay.encoding} text: {exc.reason}")]
        ) from None
    delimiter = "," if profile.format == "generic-csv" else lay.delimiter
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise ImportValidationError(source, [Problem(1, FILE, "the file is empty")])
    header = [h.strip().lower() for h in rows[0]]
    kind = _kind(profile, set(header))
    if kind is None:
        want = _columns(profile, "positions")["quantity"], _columns(profile, "cash")["amount"]
        raise ImportValidationError(
            source, [Problem(1, FILE, f"header names neither a {want[0]!r} nor an {want[1]!r} column")]
        )
    cols = _columns(profile, kind)
    problems: list[Problem] = []
    required = [f for f in (POSITION_FIELDS if kind == "positions" else CASH_FIELDS) if f != "market_value"]
    for f in required + (
        ["custodian", "id_type"] if profile.format == "generic-csv" and kind == "positions" else []
    ):
        if f in cols and cols[f] not in header:
            problems.append(Problem(1, cols[f], "required column is missing"))
    if profile.format == "generic-csv" and "custodian" not in header:
        problems.append(Problem(1, "custodian", "required column is missing"))
    if (
        kind == "cash"
        and lay.debit_credit_column
        and profile.format != "generic-csv"
        and lay.debit_credit_column.lower() not in header
    ):
        problems.append(Problem(1, lay.debit_credit_column, "required column is missing"))
    if len(set(header)) != len(header):
        problems.append(Problem(1, FILE, "a column name is repeated"))
    if problems:
        raise ImportValidationError(source, problems)
    index = {h: i for i, h in enumerate(header)}
    generic = profile.format == "generic-csv"
    dec = dict(decimal=".", thousands="") if generic else dict(decimal=lay.decimal, thousands=lay.thousands)
    signs = dict(trailing_minus=lay.trailing_minus, parentheses=lay.parentheses) if not generic else {}
    date_fmt = "%Y-%m-%d" if generic else lay.date_format
    dates: set[date] = set()
    positions: list[PositionLine] = []
    cash: list[CashLine] = []
    for n, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(Problem(n, FILE, f"has {len(values)} fields, the header has {len(header)}"))
            continue

        def cell(f: str, row: list[str] = values) -> str:
            return row[index[cols[f]]].strip() if f in cols and cols[f] in index else ""

        def field(f: str, fn, *a, n: int = n, **kw):  # type: ignore[no-untyped-def]
            try:
                return fn(cell(f), *a, **kw)
            except FieldError as exc:
                problems.append(Problem(n, cols.get(f, f), str(exc)))
                return None

        if generic and cell("custodian") != profile.name:
            problems.append(Problem(n, "custodian", f"{cell('custodian')!r} is not {profile.name!r}"))
        theirs = cell("account")
        ours = profile.accounts.ours(theirs) if theirs else None
        if not theirs:
            problems.append(Problem(n, cols["account"], "is empty"))
        elif ours is None:
            problems.append(
                Problem(n, cols["account"], f"custodian account {theirs!r} is not mapped to one of ours")
            )
        as_of = field("as_of", parse_date, date_fmt)
        if as_of is not None:
            dates.add(as_of)
        ccy = field("currency", parse_currency)
        sign = 1
        if kind == "cash" and lay.debit_credit_column and not generic:
            mark = values[index[lay.debit_credit_column.lower()]].strip()
            sign = -1 if mark in lay.debit_marks else 1
        if kind == "positions":
            id_type = cell("id_type") if "id_type" in cols else (lay.id_type or "")
            ident = None
            try:
                ident = parse_identifier(cell("security_id"), id_type)
            except FieldError as exc:
                problems.append(Problem(n, cols["security_id"], str(exc)))
            qty = field("quantity", parse_decimal, **dec, **signs)
            mv = None
            if cell("market_value"):
                mv = field("market_value", parse_decimal, **dec, **signs)
            if ident and qty is not None and ours and ccy:
                positions.append(
                    PositionLine(
                        n,
                        theirs,
                        ours,
                        ident[0],
                        ident[1],
                        qty * sign * lay.quantity_sign,
                        ccy,
                        None if mv is None else mv * sign,
                    )
                )
        else:
            amount = field("amount", parse_decimal, **dec, **signs)
            if amount is not None and ours and ccy:
                cash.append(CashLine(n, theirs, ours, ccy, amount * sign))
    if len(dates) > 1:
        problems.append(
            Problem(2, cols["as_of"], f"one statement date per file, found {sorted(map(str, dates))}")
        )
    if not dates and not problems:
        problems.append(Problem(2, FILE, "the file has no statement lines"))
    if problems:
        raise ImportValidationError(source, problems)
    return ParsedStatement(
        custodian=profile.name,
        format=profile.format,
        kind=kind,
        as_of=dates.pop(),
        positions=tuple(positions),
        cash=tuple(cash),
    )
