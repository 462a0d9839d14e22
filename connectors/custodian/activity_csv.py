"""Activity CSV files: the generic layout (our column names) and a custodian's own (its profile).

Every cell is read with the layout's separators and date format; each problem names the row (the
file's line, header = 1), the field and the reason, and refuses the file whole. Amounts are read
without their sign: the kind says which way the cash goes. Account numbers map through the
profile's [accounts] section.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.custodian.activity_profile import REQUIRED, ActivityLayout
from connectors.custodian.fields import FieldError, parse_currency, parse_date, parse_decimal
from connectors.custodian.profile import Profile
from engine.activity.rows import ActivityRow, ParsedActivity
from engine.errors import ImportValidationError, Problem

DECIMALS = ("quantity", "price", "commission", "amount", "gross", "withholding", "cost_basis", "fx_rate",
            "counter_amount")  # fmt: skip
DATES = ("trade_date", "settle_date", "acquired")
CURRENCIES = ("currency", "counter_currency")
MAX_PROBLEMS = 200


def parse_lots(text: str, layout: ActivityLayout) -> tuple[tuple[str, Decimal | None], ...]:
    """`B12:50|2024-05-01:25|LOT-7`: lots named by a sale or transfer out, each with its quantity
    (after the last colon; none: what is left of the line's quantity)."""
    out: list[tuple[str, Decimal | None]] = []
    for part in text.split("|"):
        ref, colon, qty = part.strip().rpartition(":")
        if not colon:
            ref, qty = qty, ""
        ref = ref.strip()
        if not ref:
            raise FieldError(f"{part.strip()!r}: name a lot before the quantity (LOT:QUANTITY|LOT:QUANTITY)")
        amount = None
        if qty.strip():
            amount = parse_decimal(qty, decimal=layout.decimal, thousands=layout.thousands)
            if amount <= 0:
                raise FieldError(f"{part.strip()!r}: the quantity must be positive")
        out.append((ref, amount))
    return tuple(out)


def _decoder(layout: ActivityLayout) -> Callable[[str, str], Any]:
    def cell(name: str, text: str) -> Any:
        if name in DECIMALS:
            value = parse_decimal(
                text, decimal=layout.decimal, thousands=layout.thousands,
                trailing_minus=layout.trailing_minus, parentheses=layout.parentheses,
            )  # fmt: skip
            return abs(value)
        if name in DATES:
            return parse_date(text, layout.date_format)
        if name in CURRENCIES:
            return parse_currency(text)
        if name == "lots":
            return parse_lots(text, layout)
        return text.strip()

    return cell


def read_activity_csv(source: str, data: bytes, profile: Profile, layout: ActivityLayout) -> ParsedActivity:
    """Every row of an activity CSV; ImportValidationError lists every problem (nothing is kept)."""
    try:
        text = data.decode(layout.encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ImportValidationError(
            source, [Problem(1, "(file)", f"not {layout.encoding} text: {exc.reason}")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter)
    header = [h.strip() for h in next(reader, [])]
    where = {col: i for i, col in enumerate(header)}
    missing = [f"{layout.columns.get(f, f)!r}" for f in REQUIRED if layout.columns.get(f) not in where]
    if missing:
        raise ImportValidationError(
            source, [Problem(1, "(header)", f"missing column(s) {', '.join(missing)}")]
        )
    cols = [(ours, where[theirs]) for ours, theirs in layout.columns.items() if theirs in where]
    cell = _decoder(layout)
    problems: list[Problem] = []
    rows: list[ActivityRow] = []
    for line_no, record in enumerate(reader, start=2):
        if not any(c.strip() for c in record):
            continue
        values: dict[str, Any] = {}
        for ours, i in cols:
            text = record[i] if i < len(record) else ""
            if not text.strip():
                continue
            try:
                values[ours] = cell(ours, text)
            except FieldError as exc:
                problems.append(Problem(line_no, layout.columns[ours], str(exc)))
        for f in REQUIRED:
            if f not in values and not any(
                p.row == line_no and p.column == layout.columns[f] for p in problems
            ):
                problems.append(Problem(line_no, layout.columns[f], "is empty"))
        code = values.get("kind")
        if code is not None:
            kind = layout.kinds.get(code) or layout.kinds.get(code.lower()) or layout.kinds.get(code.upper())
            if kind is None:
                problems.append(
                    Problem(line_no, layout.columns["kind"], f"{code!r} is not a known activity code")
                )
            values["kind"] = kind
        theirs = values.get("account")
        ours_acct = profile.accounts.ours(theirs) if theirs else None
        if theirs and ours_acct is None:
            problems.append(
                Problem(
                    line_no,
                    layout.columns["account"],
                    f"custodian account {theirs!r} is not mapped to one of ours",
                )
            )
        if len(problems) >= MAX_PROBLEMS:
            break
        if any(p.row == line_no for p in problems):
            continue
        trade_date: date = values["trade_date"]
        rows.append(
            ActivityRow(
                row=line_no, reference=values["reference"], custodian_account=theirs, account=ours_acct or "",
                kind=values["kind"], trade_date=trade_date, settle_date=values.get("settle_date"),
                currency=values.get("currency"), id_type=values.get("id_type", layout.id_type),
                security_ref=values.get("security_id"), quantity=values.get("quantity"), price=values.get("price"),
                commission=values.get("commission", Decimal(0)), amount=values.get("amount"),
                gross=values.get("gross"), withholding=values.get("withholding"),
                cost_basis=values.get("cost_basis"), acquired=values.get("acquired"), fx_rate=values.get("fx_rate"),
                counter_currency=values.get("counter_currency"), counter_amount=values.get("counter_amount"),
                description=values.get("description"), lots=values.get("lots", ()),
            )
        )  # fmt: skip
    if problems:
        raise ImportValidationError(source, problems)
    fmt = "profile-csv" if layout.format == "profile-csv" else "generic-csv"
    return ParsedActivity(profile.name, fmt, tuple(rows))
