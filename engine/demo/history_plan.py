"""The SIMULATED history's calendar: which dates the day cycle closes and what happens on them.

Deterministic for (universe, dates, seed). Real closes happen on the first ECB fixing day of each
quarter (deposits, withdrawals, fees, dividends going ex, the rebalance; the split, the
cash-and-stock merger and the spin-off on three of them), on the history's first day and on the
book's as-of date. Every other weekday is closed in bulk (engine.demo.history_values). Quarterly,
not daily or monthly, because every real close books row by row through the ledger: that is what
keeps the default book's three years near a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from engine.demo.clients import DemoAccount
from engine.demo.holdings import MarketArrays

SPLIT_RATIO = 2
DIVIDEND_PAYERS = 8  # model equities paying a quarterly dividend
MERGER_CASH_SHARE = 0.4  # of the offer's value, paid in cash; the rest in acquirer shares
MERGER_PREMIUM = 1.25
SPINOFF_ALLOCATION = Decimal("0.12")  # the issuer's published share of the basis given to the new company
SPINOFF_RATIO_OLD = 5  # one new share per five held


@dataclass(frozen=True)
class Corporate:
    """The three share events of the history: which securities, on which ex dates."""

    split: str
    split_day: date
    target: str
    acquirer: str
    merger_day: date
    parent: str
    child: str
    spinoff_day: date


@dataclass
class HistoryPlan:
    """What the history does and when (see the module docstring)."""

    start: date
    end: date
    closes: list[date]
    quarters: set[date]
    corporate: Corporate
    dividend_payers: list[str]
    seed: int
    notes: dict[str, str] = field(default_factory=dict)

    def event_symbols(self, day: date) -> set[str]:
        """Securities with a share event on `day` (not rebalanced that day: the action is pending)."""
        c = self.corporate
        return {s for d, syms in ((c.split_day, (c.split,)), (c.merger_day, (c.target, c.acquirer)),
                                  (c.spinoff_day, (c.parent, c.child))) if d == day for s in syms}  # fmt: skip

    def weekdays(self) -> pd.DatetimeIndex:
        """Every business day (Monday to Friday) of the history: each gets a stored value."""
        return pd.bdate_range(self.start, self.end)


def close_dates(start: date, end: date, fixings: pd.DatetimeIndex) -> tuple[list[date], set[date]]:
    """(every real close: the first fixing day, each quarter's first, the end; the quarter firsts).
    Real closes fall on ECB fixing days (revaluation needs the date's rates); the end is one."""
    days = pd.bdate_range(start, end)
    days = days[days.isin(fixings)]
    firsts = days.to_series().groupby([days.year, days.quarter]).min()
    quarters = {d.date() for d in firsts if d.date() > days[0].date() and d.day <= 7}
    out = sorted({days[0].date(), *quarters, end})
    return out, quarters


def make_plan(
    universe: pd.DataFrame,
    model_symbols: set[str],
    start: date,
    end: date,
    seed: int,
    fixings: pd.DatetimeIndex,
) -> HistoryPlan:
    """Choose the events: the split, the acquirer and the spin-off's parent among the US model
    equities; the merger target and the new company among the US equities outside every model."""
    rng = np.random.default_rng(seed + 1_000_003)
    closes, quarters = close_dates(start, end, fixings)
    usd = universe[(universe["currency"] == "USD") & (universe["asset_class"] == "equity")]
    in_models = usd[usd["symbol"].isin(model_symbols)]["symbol"].tolist()
    outside = usd[~usd["symbol"].isin(model_symbols)]["symbol"].tolist()
    if len(in_models) < 3 or len(outside) < 2:
        raise ValueError("the demo universe has too few US equities for the history's corporate events")
    split, acquirer, parent = (str(s) for s in rng.choice(sorted(in_models), size=3, replace=False))
    target, child = (str(s) for s in rng.choice(sorted(outside), size=2, replace=False))
    middle = closes[1:-1] or closes

    def pick(frac: float) -> date:
        return middle[min(len(middle) - 1, int(len(middle) * frac))]

    corporate = Corporate(split, pick(0.25), target, acquirer, pick(0.55), parent, child, pick(0.8))
    equities = universe[universe["asset_class"] == "equity"]
    pool = sorted(equities[equities["symbol"].isin(model_symbols)]["symbol"].tolist())
    payers = sorted(str(x) for x in rng.choice(pool, size=min(DIVIDEND_PAYERS, len(pool)), replace=False))
    return HistoryPlan(closes[0], end, closes, quarters, corporate, payers, seed)


def legacy_lots(plan: HistoryPlan, accounts: list[DemoAccount], m: MarketArrays) -> pd.DataFrame:
    """Lots of the merger target and the spin-off's new company (outside every model: legacy
    holdings) for every third account, about 1% of its value each, bought at a close of the year
    before the history, so both events have holders whatever the book's size."""
    rng = np.random.default_rng(plan.seed + 2_000_003)
    rows = []
    last = len(m.dates) - 1
    for n, acct in enumerate(accounts):
        if n % 3:
            continue
        for k, sym in enumerate((plan.corporate.target, plan.corporate.child)):
            i = m.sym_index[sym]
            day = int(m.last_session[max(0, last - int(rng.integers(30, 250))), i])
            usd_to_base = m.eur_per[day, m.ccy_index[acct.base_currency]] / m.eur_per[day, m.ccy_index["USD"]]
            qty = np.floor(acct.value_usd * 0.01 / (m.close_ff[last, i] * m.lot_size[i])) * m.lot_size[i]
            if qty > 0:
                rows.append({"account": acct.code, "symbol": sym, "lot_ref": f"DEMO-L{k + 1}", "quantity": qty,
                             "unit_cost": round(float(m.close_ff[day, i]), 2),
                             "acquired": m.dates[day].date(), "fx_rate": round(float(usd_to_base), 10)})  # fmt: skip
    return pd.DataFrame(
        rows, columns=["account", "symbol", "lot_ref", "quantity", "unit_cost", "acquired", "fx_rate"]
    )


def adjust_closes(closes: pd.DataFrame, plan: HistoryPlan) -> pd.DataFrame:
    """The simulated closes as the events make them: the split stock's price divided by the ratio
    from its ex date; the merger target no longer trades from its ex date; the spin-off's parent
    loses the basis share it gives away from its ex date."""
    out = closes.copy()
    c = plan.corporate
    after_split = out.index >= pd.Timestamp(c.split_day)
    out.loc[after_split, c.split] = out.loc[after_split, c.split] / SPLIT_RATIO
    out.loc[out.index >= pd.Timestamp(c.merger_day), c.target] = np.nan
    after_spin = out.index >= pd.Timestamp(c.spinoff_day)
    out.loc[after_spin, c.parent] = out.loc[after_spin, c.parent] * (1 - float(SPINOFF_ALLOCATION))
    return out


def dividend_payers_on(plan: HistoryPlan, day: date) -> list[str]:
    """The equities going ex on `day`: every payer on each quarter's first close."""
    return list(plan.dividend_payers) if day in plan.quarters else []
