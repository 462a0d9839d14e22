"""Read a custodian CSV (the generic format, or a custodian's profile) into a ParsedStatement.

Every problem in the file is collected (row as a spreadsheet numbers it, header = row 1; field;
reason) and the file is refused whole with ImportValidationError: nothing is half-read.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from connectors.custodian.csvfast import read_columns
from connectors.custodian.csvrows import Rows
from connectors.custodian.fields import (
    FieldError,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_identifier,
)
from connectors.custodian.profile import CASH_FIELDS, POSITION_FIELDS, Profile
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import (
    CASH_COLUMNS,
    POSITION_COLUMNS,
    CashLine,
    ParsedStatement,
    PositionLine,
    StatementColumns,
)

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


def read_csv_statement(
    path: Path, profile: Profile, data: bytes | None = None, *, slow: bool = False
) -> ParsedStatement:
    """Parse one CSV file for `profile.name`; raises ImportValidationError listing every problem.

    Cells are checked column by column (connectors.custodian.csvfast); a row any column check
    flags is read again by RowReader, whose problems (row, field, reason) are the ones reported.
    `slow=True` reads every row with RowReader (the reference the fast path is tested against).
    """
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
    rows = Rows(text.lstrip("\ufeff"), delimiter)
    if not len(rows):
        raise ImportValidationError(source, [Problem(1, FILE, "the file is empty")])
    header = [h.strip().lower() for h in rows.row(0)]
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
    rr = RowReader(profile, kind, cols, header, source)
    table = rr.lines(rows.body()) if slow else read_columns(rr, rows)
    problems, dates = rr.problems, rr.dates
    if len(dates) > 1:
        problems.append(
            Problem(2, cols["as_of"], f"one statement date per file, found {sorted(map(str, dates))}")
        )
    if not dates and not problems:
        problems.append(Problem(2, FILE, "the file has no statement lines"))
    if problems:
        raise ImportValidationError(source, problems)
    return ParsedStatement(profile.name, profile.format, kind, dates.pop(), table=table)


class RowReader:
    """Reads one data row at a time (the reference reading, and the reading of flagged rows)."""

    def __init__(
        self, profile: Profile, kind: str, cols: dict[str, str], header: list[str], source: str
    ) -> None:
        lay = profile.csv
        self.profile, self.kind, self.cols, self.header, self.source = profile, kind, cols, header, source
        self.lay = lay
        self.index = {h: i for i, h in enumerate(header)}
        self.generic = generic = profile.format == "generic-csv"
        self.dec = (
            dict(decimal=".", thousands="") if generic else dict(decimal=lay.decimal, thousands=lay.thousands)
        )
        self.signs = (
            dict(trailing_minus=lay.trailing_minus, parentheses=lay.parentheses) if not generic else {}
        )
        self.date_fmt = "%Y-%m-%d" if generic else lay.date_format
        self.problems: list[Problem] = []
        self.dates: set[date] = set()

    def lines(self, body: list[list[str]]) -> StatementColumns:
        """Every row read one by one, as columns."""
        found = [ln for n, values in enumerate(body, start=2) if (ln := self.row(n, values)) is not None]
        names = POSITION_COLUMNS if self.kind == "positions" else CASH_COLUMNS
        return StatementColumns({c: [_text(getattr(ln, c)) for ln in found] for c in names})

    def row(self, n: int, values: list[str]) -> PositionLine | CashLine | None:
        """The line of data row `n` (None for a blank row or a row with problems, which are kept)."""
        profile, cols, index, lay, problems = self.profile, self.cols, self.index, self.lay, self.problems
        header, generic, dec, signs = self.header, self.generic, self.dec, self.signs
        if not any(v.strip() for v in values):
            return None
        if len(values) != len(header):
            problems.append(Problem(n, FILE, f"has {len(values)} fields, the header has {len(header)}"))
            return None

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
        as_of = field("as_of", parse_date, self.date_fmt)
        if as_of is not None:
            self.dates.add(as_of)
        ccy = field("currency", parse_currency)
        sign = 1
        if self.kind == "cash" and lay.debit_credit_column and not generic:
            mark = values[index[lay.debit_credit_column.lower()]].strip()
            sign = -1 if mark in lay.debit_marks else 1
        if self.kind == "positions":
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
                return PositionLine(
                    n,
                    theirs,
                    ours,
                    ident[0],
                    ident[1],
                    qty * sign * lay.quantity_sign,
                    ccy,
                    None if mv is None else mv * sign,
                )
            return None
        amount = field("amount", parse_decimal, **dec, **signs)
        if amount is not None and ours and ccy:
            return CashLine(n, theirs, ours, ccy, amount * sign)
        return None


def _text(value: object) -> object:
    """Numbers as decimal text (StatementColumns' form); everything else as it is."""
    return str(value) if isinstance(value, Decimal) else value
