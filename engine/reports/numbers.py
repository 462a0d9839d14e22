"""Numbers as a desk reads them: money to its currency's minor units (ISO 4217: JPY 0, KWD 3),
totals equal to the lines shown, quantities in plain digits, weights that add up to 100%.

Rounding each line on its own and the total on its own leaves the total a cent or two off the
sum of its lines (72 of 200 demo accounts). `allocate` rounds once: it rounds the exact total,
then hands the units left over to the lines with the largest remainders (the largest remainder,
or Hamilton, method), so every line moves by less than one minor unit and the lines add up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from engine.model.currency import minor_units

QUANTITY_PLACES = 6
"""Fractional quantities are shown to at most this many decimals (then trailing zeros go)."""


def to_decimal(value: Any) -> Decimal:
    """A float, int, numpy number or Decimal as a Decimal of its shortest repr (0.1 -> 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"not a finite number: {value!r}")
    return Decimal(repr(f))


def quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def round_to(value: Any, places: int) -> Decimal:
    """Half-even to `places` decimals (as ledgers round)."""
    return to_decimal(value).quantize(quantum(places), rounding=ROUND_HALF_EVEN)


def money(value: Any, currency: str) -> Decimal:
    """An amount rounded to its currency's minor unit."""
    return round_to(value, minor_units(currency))


def allocate(values: Sequence[Any], places: int, total: Any | None = None) -> list[Decimal]:
    """Round `values` to `places` decimals so they add up to `total` (default: their exact sum),
    itself rounded to `places`: floor every value, then give the units still missing to the
    values with the largest remainders (ties to the earlier value). Each result differs from its
    value by less than one unit of the last place when `total` is the exact sum."""
    if not values:
        return []
    unit = quantum(places)
    exact = [to_decimal(v) for v in values]
    target = round_to(sum(exact, Decimal(0)) if total is None else total, places)
    floors = [(v / unit).to_integral_value(rounding=ROUND_FLOOR) for v in exact]
    remainders = [v / unit - f for v, f in zip(exact, floors)]
    missing = int(target / unit - sum(floors, Decimal(0)))
    order = sorted(range(len(exact)), key=lambda i: (-remainders[i], i))
    if missing < 0:  # a total below the floors (only when `total` is given): take from the smallest
        order = order[::-1]
    step = 1 if missing >= 0 else -1
    for k in range(abs(missing)):
        floors[order[k % len(order)]] += step
    return [(f * unit).quantize(unit) for f in floors]


def allocate_money(values: Sequence[Any], currency: str, total: Any | None = None) -> list[Decimal]:
    """Lines in one currency rounded to its minor unit, adding up to the rounded total."""
    return allocate(values, minor_units(currency), total)


def weights(values: Sequence[Any], places: int = 6) -> list[Decimal]:
    """Weights rounded to `places` decimals (of the fraction): when the exact weights add up to
    one, the rounded ones add up to exactly one (100.00% at `places=4`)."""
    return allocate(values, places)


def fmt_money(value: Any, currency: str, signed: bool = False) -> str:
    """1,234,567.89 (USD), 1,234,568 (JPY), 1,234.568 (KWD): digits only, no currency code."""
    if value is None:
        return ""
    d = money(value, currency)
    if d == 0:
        d = abs(d)  # never "-0.00"
    return f"{d:+,}" if signed else f"{d:,}"


def fmt_quantity(value: Any) -> str:
    """Plain digits with separators, never exponent notation: 1,000,000 and 12.5 and 0.000125."""
    if value is None:
        return ""
    d = round_to(value, QUANTITY_PLACES)
    if d == d.to_integral_value():
        return f"{d.to_integral_value():,}"
    text = f"{d:,f}"
    return text.rstrip("0").rstrip(".")


def fmt_percent(fraction: Any, places: int = 2, signed: bool = False) -> str:
    """A fraction as a percentage: 0.12345 -> 12.35% (half-even on the decimal digits)."""
    if fraction is None:
        return ""
    d = round_to(to_decimal(fraction) * 100, places)
    return f"{d:+,.{places}f}%" if signed else f"{d:,.{places}f}%"


def percent_lines(fractions: Iterable[Any], places: int = 2) -> list[str]:
    """Weights shown as percentages that add up to the rounded total of the weights (100.00% for
    a whole account) rather than 99.98%."""
    rounded = allocate(list(fractions), places + 2)
    return [fmt_percent(d, places) for d in rounded]
