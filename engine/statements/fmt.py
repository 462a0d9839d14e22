"""Numbers and dates in a client's locale (Babel's CLDR data): de-DE 1.234,56, de-CH 1'234.56,
en-US 1,234.56; money to its currency's minor unit (ISO 4217), percentages to two decimals.

The locale follows the account's tax jurisdiction (CLDR's likely language of the country: DE ->
de_DE, CH -> de_CH, JP -> ja_JP) unless the statement run names one. Characters the PDF's base
fonts cannot show (the narrow no-break space of fr-FR) become a no-break space. Patterns and
locales are parsed once (a statement formats a few thousand numbers).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from engine.errors import WorkstationError
from engine.model.currency import minor_units
from engine.reports.numbers import money, round_to

_SAFE = str.maketrans({"\u202f": "\u00a0", "\u2009": "\u00a0", "\u2212": "-"})


def locale_for(jurisdiction: str | None, override: str | None = None) -> str:
    """The locale of a statement: `override` if given (checked), else the jurisdiction's likely one."""
    if override:
        try:
            return str(_locale(override.replace("-", "_")))
        except (UnknownLocaleError, ValueError) as exc:
            raise WorkstationError(f"locale {override!r}: not a locale Babel knows ({exc})") from exc
    try:
        return str(_locale(f"und_{(jurisdiction or 'US').upper()}"))
    except (UnknownLocaleError, ValueError):
        return "en_US"


@lru_cache(maxsize=64)
def _locale(text: str) -> Locale:
    return Locale.parse(text)


@lru_cache(maxsize=64)
def _pattern(text: str) -> NumberPattern:
    return parse_pattern(text)


def _money_pattern(places: int) -> NumberPattern:
    return _pattern("#,##0" + ("." + "0" * places if places else ""))


class Formatter:
    """Formats amounts in one currency, fractions and dates in one locale."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale, self.currency = locale, currency
        self._loc = _locale(locale)

    def _apply(self, pattern: NumberPattern, value: Decimal) -> str:
        return str(pattern.apply(value, self._loc)).translate(_SAFE)

    def money(self, value: Any, currency: str | None = None) -> str:
        """An amount to its currency's minor unit (JPY 0, KWD 3), never "-0,00"; None is n/a."""
        ccy = currency or self.currency
        if value is None:
            return "n/a"
        d = money(value, ccy)
        return self._apply(_money_pattern(minor_units(ccy)), abs(d) if d == 0 else d)

    def whole(self, value: float) -> str:
        """A whole number with the locale's grouping (chart axes)."""
        return self._apply(_pattern("#,##0"), Decimal(round(value)))

    def quantity(self, value: Any) -> str:
        return self._apply(_pattern("#,##0.######"), round_to(value, 6))

    def price(self, value: Any) -> str:
        """At least two decimals, at most six (28,82 and 1,234567)."""
        return self._apply(_pattern("#,##0.00####"), round_to(value, 6))

    def percent(self, fraction: Any) -> str:
        if fraction is None:
            return "n/a"
        d = round_to(float(fraction) * 100, 2)
        return self._apply(_pattern("#,##0.00"), abs(d) if d == 0 else d) + " %"

    def date(self, d: date) -> str:
        return _date(d, self.locale)

    def date_iso(self, text: str) -> str:
        return _date(date.fromisoformat(text), self.locale)


@lru_cache(maxsize=4096)
def _date(d: date, locale: str) -> str:
    return str(format_date(d, format="medium", locale=_locale(locale))).translate(_SAFE)
