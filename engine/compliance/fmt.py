"""Numbers as a reviewer reads them: percentages, money with its currency, quantities."""

from __future__ import annotations

import math

from engine.reports.numbers import fmt_money


def pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x * 100:.2f}%"


def money(x: float, ccy: str) -> str:
    """An amount with its currency's minor units (JPY none, KWD three), as every report shows it."""
    return "n/a" if x is None or not math.isfinite(x) else f"{fmt_money(x, ccy)} {ccy}"


def qty(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4f}".rstrip("0").rstrip(".")


def num(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:,.{digits}f}"
