"""Gains deferral: a short-term lot with a gain that turns long-term within N days is held back.

Selling it a few days early taxes its gain at the short-term rate (37% against 20% in the US).
`deferred_lots` names those lots; `styles.apply` makes them unsellable, and `styled` solves again
without the deferral only when a hard constraint (a forced sale, a cap, a cash raise) cannot be
met without them, naming that reason on each such trade. A lot of an excluded security (a sale
the account must make) is never deferred, nor any lot where the short-term rate is not above the
long-term one (waiting would save nothing: one rate, or an untaxed account).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.prepare import Prepared
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.taxes import is_long_term, rates_for


def deferred_lots(p: Prepared, u: Universe, s: RebalanceSettings) -> np.ndarray:
    """Bool per account lot: a gain, short-term on the trade date, long-term within N days."""
    a = p.account
    if len(a.lot_qty) == 0:
        return np.zeros(0, dtype=bool)
    sale = s.trade_date or u.as_of
    soon = is_long_term(a.lot_acquired, sale + timedelta(days=s.defer_gains_days))
    forced = p.excluded[p.lot_pos] & (not a.keep_legacy)
    rates = rates_for(a.jurisdiction, a.tax_status)
    if rates.short_term <= rates.long_term:  # waiting saves nothing (one rate, or untaxed)
        return np.zeros(len(a.lot_qty), dtype=bool)
    return np.asarray(~p.lot_long & soon & (p.lot_gain_unit > 0) & ~forced, dtype=bool)
