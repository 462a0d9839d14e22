"""Desk number formats: thousands separators, the currency's minor units, signed percentages, zones."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.model.currency import minor_units
from engine.reports import numbers

_DISPLAY_TZ: list[ZoneInfo | None] = [None]


def set_display_zone(tz: ZoneInfo | None) -> None:
    """The zone times are shown in (the user's); None shows UTC."""
    _DISPLAY_TZ[0] = tz


def _missing(value: Any) -> bool:
    """None, NaN or NaT (pandas' missing time, which is a datetime that differs from itself)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, datetime) and value != value


def fmt_money(value: Any, currency: str | None = None) -> str:
    """1,234,567.89 USD; JPY with no decimals, KWD with three (ISO 4217); blank for missing.
    Half-even on the decimal digits, as the CLI reports round (engine.reports.numbers)."""
    if _missing(value):
        return ""
    if currency and isinstance(currency, str):
        return f"{numbers.fmt_money(value, currency)} {currency}"
    return numbers.fmt_money(value, "USD")  # two decimals when the currency is unknown


def fmt_qty(value: Any) -> str:
    """Whole quantities with separators; fractional ones to at most 6 decimals; never 1e+06."""
    if _missing(value):
        return ""
    return numbers.fmt_quantity(value)


def fmt_price(value: Any) -> str:
    if _missing(value):
        return ""
    v = float(value)
    return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.2f}"


def fmt_pct(value: Any, signed: bool = False) -> str:
    """A fraction as a percentage: 0.0123 -> 1.23% (or +1.23% when signed); -0.00001 shows 0.00%,
    never -0.00% (rounded first, then the negative zero dropped)."""
    if _missing(value):
        return ""
    shown = round(float(value) * 100, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{shown:+.2f}%" if signed else f"{shown:.2f}%"


def sign_value(kind: str, value: Any, currency: str | None = None) -> float:
    """The number whose sign colours a cell, rounded as the cell shows it (a percentage to two
    decimals, money to its currency's minor units), so a cell that reads 0.00% or 0.00 is never
    red or green; other kinds as they are."""
    v = float(value)
    if kind in ("pct", "drift"):
        return round(v * 100, 2) + 0.0
    if kind in ("money", "amount"):
        return round(v, minor_units(currency if isinstance(currency, str) and currency else "USD")) + 0.0
    return v


def fmt_datetime(value: Any, tz: ZoneInfo | None = None) -> str:
    """A timezone-aware time in `tz` (UTC by default), with the zone's abbreviation."""
    if _missing(value):
        return ""
    if isinstance(value, datetime):
        zone = tz or _DISPLAY_TZ[0]
        dt = value.astimezone(zone) if zone else value
        return dt.strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)


WORDS = {
    "gtc": "GTC",
    "gtd": "GTD",
    "ioc": "IOC",
    "fok": "FOK",
    "moc": "MOC",
    "loc": "LOC",
    "canceled": "Cancelled",
    "pending_new": "Pending new",
    "done_for_day": "Done for day",
}


def words(value: Any) -> str:
    """A code name as a desk user reads it: `partially_filled` -> "Partially filled", `gtc` -> "GTC"."""
    text = str(value)
    if text in WORDS:
        return WORDS[text]
    spaced = text.replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:]


def format_value(kind: str, value: Any, currency: str | None = None, signed: bool = False) -> str:
    """Display text of one cell."""
    if _missing(value):
        return ""
    if kind == "words":
        return words(value)
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "amount":  # the title names the currency: its minor units, no code on every line
        return numbers.fmt_money(value, currency or "USD")
    if kind == "qty":
        return fmt_qty(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "price":
        return fmt_price(value)
    if kind == "pct":
        return fmt_pct(value, signed=signed)
    if kind == "drift":
        return fmt_pct(value, signed=True)
    if kind == "rate":
        return f"{float(value):,.6f}"
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if hasattr(value, "date"):
            return value.date().isoformat()
        return str(value)
    if kind == "datetime":
        return fmt_datetime(value)
    return str(value)  # text, and figures already written out in their unit
