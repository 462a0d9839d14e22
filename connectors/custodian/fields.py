"""Cell parsers shared by the CSV and XML readers: numbers with any separators, dates, identifiers.

Each returns the value or raises FieldError with a reason; the readers turn that into a Problem
naming the row and field, and refuse the whole file.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from engine.model.currency import is_currency
from engine.model.identifiers import is_valid_cusip, is_valid_isin, is_valid_sedol
from engine.reconcile.statement import ID_TYPES

_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9/\-]{0,15}\.[A-Z0-9]{4}$")


class FieldError(ValueError):
    """One cell that cannot be read; the message is the reason."""


def parse_decimal(
    text: str,
    *,
    decimal: str = ".",
    thousands: str = "",
    trailing_minus: bool = False,
    parentheses: bool = False,
) -> Decimal:
    """A number written with the given separators; '1.234,56-' and '(12.5)' when allowed."""
    s = text.strip()
    if not s:
        raise FieldError("is empty")
    negative = False
    if trailing_minus and s.endswith("-"):
        negative, s = True, s[:-1].strip()
    elif parentheses and s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if thousands:
        groups = s.lstrip("+-").split(decimal)[0].split(thousands)
        if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
            raise FieldError(f"{text!r} has misplaced thousands separators {thousands!r}")
        s = s.replace(thousands, "")
    if decimal != ".":
        if "." in s:
            raise FieldError(f"{text!r} is not a number written with decimal separator {decimal!r}")
        s = s.replace(decimal, ".")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise FieldError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise FieldError(f"{text!r} is not a finite number")
    return -value if negative else value


@lru_cache(maxsize=4096)
def parse_date(text: str, fmt: str = "%Y-%m-%d") -> date:
    s = text.strip()
    try:
        return datetime.strptime(s, fmt).date()
    except ValueError:
        raise FieldError(f"{text!r} is not a date in the form {fmt}") from None


@lru_cache(maxsize=1024)
def parse_currency(text: str) -> str:
    s = text.strip().upper()
    if not is_currency(s):
        raise FieldError(f"{text!r} is not an ISO 4217 currency code")
    return s


@lru_cache(maxsize=65536)
def parse_identifier(text: str, id_type: str) -> tuple[str, str]:
    """(identifier, kind) after checking its form and check digit; TICKER must be TICKER.MIC."""
    kind = id_type.strip().upper()
    if kind not in ID_TYPES:
        raise FieldError(f"id_type {id_type!r} is not one of {', '.join(ID_TYPES)}")
    s = text.strip().upper()
    if not s:
        raise FieldError("security identifier is empty")
    ok = {
        "ISIN": is_valid_isin,
        "CUSIP": is_valid_cusip,
        "SEDOL": is_valid_sedol,
        "TICKER": lambda v: bool(_TICKER.match(v)),
    }[kind](s)
    if not ok:
        what = "ticker.MIC (e.g. VOD.XLON)" if kind == "TICKER" else f"{kind} (form or check digit)"
        raise FieldError(f"{text!r} is not a valid {what}")
    return s, kind


_PLAIN_LINE = re.compile(r"^(?![+-]?\d+(?:\.\d+)?$).*$", re.MULTILINE)


def plain_decimals(texts: list[str]) -> bool:
    """True when every text is a plain decimal ('-12', '3.50'): what Decimal reads, finite, and
    what the database's NUMERIC reads the same. One regular-expression pass over all of them."""
    big = "\n".join(texts)
    return big.count("\n") == len(texts) - 1 and _PLAIN_LINE.search(big) is None if texts else True


def negated_text(text: str) -> str:
    """A decimal's text with its sign flipped ('-5' <-> '5'): exact, no arithmetic."""
    if text.startswith("-"):
        return text[1:]
    if text.startswith("+"):
        return "-" + text[1:]
    return "-" + text
