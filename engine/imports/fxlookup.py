"""FX rates on given dates, held in memory, to translate a lot's cost into its account's base currency.

A pair is found direct (base/quote), inverse (1 / quote/base), or crossed through EUR or USD,
always on the same date: the rate of the trade date, never a nearby one. Unlike
engine.pricing.fx (floats, forward-filled for valuation), this stays in Decimal, because the
rate is stored on the lot and drives its base-currency cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.imports.upsert import chunks
from engine.store.market import FxRate

CROSS_VIA = ("EUR", "USD")
PLACES = Decimal("1e-10")
"""Rates are stored with 10 decimal places (engine.store.base.Rate)."""


class DayRates:
    """Rates keyed by (base, quote, date)."""

    def __init__(self, rates: dict[tuple[str, str, date], Decimal]) -> None:
        self.rates = rates

    @classmethod
    def load(cls, session: Session, dates: Iterable[date]) -> DayRates:
        """Every stored rate on any of `dates`."""
        rates: dict[tuple[str, str, date], Decimal] = {}
        for batch in chunks(sorted(set(dates))):
            for fx in session.scalars(select(FxRate).where(FxRate.date.in_(batch))):
                rates[(fx.base, fx.quote, fx.date)] = fx.rate
        return cls(rates)

    def rate(self, base: str, quote: str, on: date) -> Decimal | None:
        """Units of `quote` per unit of `base` on `on`, or None when the table cannot say."""
        if base == quote:
            return Decimal(1)
        found = self._pair(base, quote, on)
        if found is None:
            for via in CROSS_VIA:
                if via in (base, quote):
                    continue
                first, second = self._pair(base, via, on), self._pair(via, quote, on)
                if first is not None and second is not None:
                    found = first * second
                    break
        if found is None:
            return None
        with localcontext() as ctx:
            ctx.prec = 34
            return found.quantize(PLACES)

    def _pair(self, base: str, quote: str, on: date) -> Decimal | None:
        direct = self.rates.get((base, quote, on))
        if direct is not None:
            return direct
        inverse = self.rates.get((quote, base, on))
        if inverse is not None and inverse != 0:
            with localcontext() as ctx:
                ctx.prec = 34
                return Decimal(1) / inverse
        return None
