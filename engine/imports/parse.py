"""Field parsers for import cells. Each takes the stripped text and returns a typed value or
raises ParseError with a reason that names the bad value. Numbers are always Decimal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from engine.model.currency import is_currency
from engine.model.identifiers import is_valid_cusip, is_valid_isin, is_valid_sedol

E = TypeVar("E", bound=StrEnum)


class ParseError(ValueError):
    """A cell's text is not a valid value; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Scale:
    """How much a store column can hold exactly: decimal places and a bound on the magnitude.

    The bounds keep every value within 15 significant digits, which SQLite stores exactly
    (see engine.store.base); PostgreSQL is exact anyway.
    """

    places: int
    limit: int


QUANTITY = Scale(6, 10**8)
PRICE = Scale(6, 10**8)
AMOUNT = Scale(4, 10**11)
RATE = Scale(10, 10**5)
PERCENT = Scale(8, 10**7)
"""A percent cell becomes a RATE fraction after dividing by 100, so it may carry 8 places."""


def decimal(text: str, scale: Scale = RATE) -> Decimal:
    """A finite plain decimal (`1234.5`, `-0.25`); no thousands separators, no exponents."""
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        raise ParseError(f"{text!r} is not a number")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only valid decimals
        raise ParseError(f"{text!r} is not a number") from None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > scale.places and value != value.quantize(Decimal(1).scaleb(-scale.places)):
        raise ParseError(f"{text!r} has more than {scale.places} decimal places")
    if abs(value) >= scale.limit:
        raise ParseError(f"{text!r} is too large (the limit is {scale.limit:,})")
    return value


def text(limit: int) -> Callable[[str], str]:
    """A parser for free text (a code or a name) of at most `limit` characters, as the store holds."""

    def parse(value: str) -> str:
        if len(value) > limit:
            raise ParseError(f"{value!r} is longer than {limit} characters")
        return value

    return parse


def non_negative(text: str, scale: Scale = RATE) -> Decimal:
    """A decimal that is zero or more."""
    value = decimal(text, scale)
    if value < 0:
        raise ParseError(f"{text!r} is negative")
    return value


def positive(text: str, scale: Scale = RATE) -> Decimal:
    """A decimal greater than zero (prices, FX rates, ratios)."""
    value = decimal(text, scale)
    if value <= 0:
        raise ParseError(f"{text!r} is {'zero' if value == 0 else 'negative'}; it must be greater than zero")
    return value


def percent(text: str) -> Decimal:
    """A percent between 0 and 100, returned as a fraction (2 -> 0.02)."""
    value = non_negative(text, PERCENT)
    if value > 100:
        raise ParseError(f"{text!r} is more than 100 percent")
    return value / 100


def score(text: str) -> Decimal:
    """An ESG score from 0 to 100."""
    value = non_negative(text, RATE)
    if value > 100:
        raise ParseError(f"{text!r} is more than 100 (scores run from 0 to 100)")
    return value


def integer(text: str) -> int:
    """A whole number without sign or separators."""
    if not re.fullmatch(r"\d+", text):
        raise ParseError(f"{text!r} is not a whole number")
    return int(text)


def positive_integer(text: str) -> int:
    value = integer(text)
    if value == 0:
        raise ParseError(f"{text!r} is zero; it must be at least 1")
    return value


def iso_date(text: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ParseError(f"{text!r} is not a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParseError(f"{text!r} is not a valid date") from None


def currency(text: str) -> str:
    """An active ISO 4217 code in upper case (USD, EUR, JPY)."""
    if not is_currency(text):
        raise ParseError(f"{text!r} is not an ISO 4217 currency code")
    return text


def country(text: str) -> str:
    """An ISO 3166 alpha-2 country code in upper case (US, GB)."""
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ParseError(f"{text!r} is not a two-letter upper-case country code")
    return text


def enum_value(text: str, kind: type[E]) -> E:
    """One value of a StrEnum from engine.model.enums, exactly as stored."""
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise ParseError(f"{text!r} is not one of: {allowed}") from None


def choice(text: str, allowed: tuple[str, ...]) -> str:
    """One of a fixed tuple of names (sectors)."""
    if text not in allowed:
        raise ParseError(f"{text!r} is not one of: {', '.join(allowed)}")
    return text


_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def boolean(text: str) -> bool:
    """true/false, yes/no, y/n or 1/0, in any case."""
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ParseError(f"{text!r} is not true or false")


def items(text: str) -> list[str]:
    """A semicolon-separated list; blanks are dropped and a repeated item is an error."""
    values = [part.strip() for part in text.split(";") if part.strip()]
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ParseError(f"{value!r} is listed twice")
        seen.add(value)
    return values


def enum_items(text: str, kind: type[E]) -> list[str]:
    """A semicolon list whose items are all values of `kind`."""
    return [enum_value(v, kind).value for v in items(text)]


def choice_items(text: str, allowed: tuple[str, ...]) -> list[str]:
    """A semicolon list whose items are all in `allowed`."""
    return [choice(v, allowed) for v in items(text)]


def isin(text: str) -> str:
    """An ISIN (ISO 6166) whose check digit is right; letters are taken in upper case."""
    value = text.upper()
    if not is_valid_isin(value):
        raise ParseError(f"{text!r} is not a valid ISIN (12 characters, last one a correct check digit)")
    return value


def cusip(text: str) -> str:
    """A CUSIP whose check digit is right."""
    value = text.upper()
    if not is_valid_cusip(value):
        raise ParseError(f"{text!r} is not a valid CUSIP (9 characters, last one a correct check digit)")
    return value


def sedol(text: str) -> str:
    """A SEDOL whose check digit is right (no vowels)."""
    value = text.upper()
    if not is_valid_sedol(value):
        raise ParseError(f"{text!r} is not a valid SEDOL (7 characters, last one a correct check digit)")
    return value
