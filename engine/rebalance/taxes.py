"""Estimated tax on selling lots: short/long-term rates per jurisdiction, swappable for accounting's.

This is an ESTIMATE for ranking trades, not a tax computation. US rule (IRS Publication 550):
long-term when held more than one year (the day of acquisition is not counted, the day of sale
is; engine.accounting.holding has the one rule). Other
jurisdictions are reduced to one short and one long rate. Tax-deferred and exempt accounts pay 0.
The accounting engine (issue 3) can replace `lot_tax_per_unit` and `TAX_RATES` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.accounting.holding import US_MONTHS, long_term_mask


@dataclass(frozen=True)
class TaxRates:
    """Marginal rates on realized gains, as fractions."""

    short_term: float
    long_term: float


# Defaults per tax jurisdiction (top marginal rates on gains, simplified; override per account).
TAX_RATES: dict[str, TaxRates] = {
    "US": TaxRates(0.37, 0.20),
    "GB": TaxRates(0.24, 0.24),
    "DE": TaxRates(0.26375, 0.26375),
    "FR": TaxRates(0.30, 0.30),
    "CH": TaxRates(0.0, 0.0),
    "AU": TaxRates(0.45, 0.225),
    "CA": TaxRates(0.2675, 0.2675),
    "HK": TaxRates(0.0, 0.0),
    "JP": TaxRates(0.20315, 0.20315),
}
DEFAULT_RATES = TaxRates(0.30, 0.20)
UNTAXED = ("tax_deferred", "exempt")


def rates_for(jurisdiction: str, tax_status: str, override: TaxRates | None = None) -> TaxRates:
    """The account's rates: zero when not taxable, else override, else the jurisdiction's default."""
    if tax_status in UNTAXED:
        return TaxRates(0.0, 0.0)
    return override or TAX_RATES.get(jurisdiction, DEFAULT_RATES)


def is_long_term(acquired: np.ndarray, sale: date) -> np.ndarray:
    """True where a lot acquired on `acquired` (datetime64[D]) sold on `sale` is held over a year
    (the one rule in engine.accounting.holding, month-end rule included)."""
    return long_term_mask(acquired, sale, US_MONTHS)


def gain_per_unit(
    price_base: np.ndarray, unit_cost: np.ndarray, multiplier: np.ndarray, fx_at_cost: np.ndarray
) -> np.ndarray:
    """Base-currency gain per unit sold: value now minus cost at the purchase FX rate."""
    return price_base - unit_cost * multiplier * fx_at_cost


def lot_tax_per_unit(gain: np.ndarray, long_term: np.ndarray, rates: TaxRates) -> np.ndarray:
    """Signed estimated tax per unit (negative for a loss: it offsets other gains)."""
    return gain * np.where(long_term, rates.long_term, rates.short_term)
