"""What the SIMULATED custodians and the vendor report on one history date (files' content).

Cash: each quarter about 15% of accounts deposit 1-5% of their value, 8% withdraw 1-3% (never
more than 90% of their cash), and every account pays a custody fee of 0.25% of its value.
Corporate actions: the plan's dividend payers go ex a quarterly dividend of 0.4% of the price
(withholding by the book's rates when booked), and the plan's split, merger and spin-off on
their dates. Deterministic: the generator is seeded by (seed, date).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from engine.corporate.terms import ActionTerms
from engine.demo.history_plan import (
    MERGER_CASH_SHARE,
    MERGER_PREMIUM,
    SPINOFF_ALLOCATION,
    SPINOFF_RATIO_OLD,
    SPLIT_RATIO,
    HistoryPlan,
    dividend_payers_on,
)
from engine.model.currency import minor_units

DIVIDEND_YIELD = 0.004
FEE_RATE = 0.0025


def money(x: float, ccy: str) -> Decimal:
    q = Decimal(1).scaleb(-minor_units(ccy))
    return Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_EVEN)


def _rng(plan: HistoryPlan, day: date) -> np.random.Generator:
    return np.random.default_rng([plan.seed, day.toordinal()])


def cash_lines(plan: HistoryPlan, day: date, accounts: pd.DataFrame) -> pd.DataFrame:
    """Deposits, withdrawals and (quarterly) fees on `day`. `accounts`: code, custodian,
    base_currency, value and cash (base currency), one row per account in id order."""
    rng = _rng(plan, day)
    n = len(accounts)
    out: list[dict[str, object]] = []
    first = day not in plan.quarters
    dep = rng.random(n) < 0.15
    wd = (rng.random(n) < 0.08) & ~dep
    dep_frac, wd_frac = rng.uniform(0.01, 0.05, n), rng.uniform(0.01, 0.03, n)
    for i, a in enumerate(accounts.itertuples(index=False)):
        ccy, base = str(a.base_currency), {"account": a.code, "custodian": a.custodian, "trade_date": day,
                                          "currency": a.base_currency, "counter_currency": "",
                                          "counter_amount": ""}  # fmt: skip
        if first:
            continue
        if dep[i]:
            amt = money(round(a.value * dep_frac[i], -2), ccy)
            if amt > 0:
                out.append({**base, "reference": f"SIM-{day:%Y%m%d}-{a.code}-DEP", "kind": "deposit",
                            "amount": amt, "description": "SIMULATED client deposit"})  # fmt: skip
        elif wd[i]:
            amt = money(round(min(a.value * wd_frac[i], 0.9 * a.cash), -2), ccy)
            if amt > 0:
                out.append({**base, "reference": f"SIM-{day:%Y%m%d}-{a.code}-WDL", "kind": "withdrawal",
                            "amount": amt, "description": "SIMULATED client withdrawal"})  # fmt: skip
        if day in plan.quarters:
            fee = money(a.value * FEE_RATE, ccy)
            if fee > 0:
                out.append({**base, "reference": f"SIM-{day:%Y%m%d}-{a.code}-FEE", "kind": "fee",
                            "amount": fee, "description": "SIMULATED quarterly custody fee"})  # fmt: skip
    return pd.DataFrame(out, columns=["reference", "account", "custodian", "kind", "trade_date", "currency",
                                      "amount", "counter_currency", "counter_amount", "description"])  # fmt: skip


def _px(value: float, ccy: str) -> Decimal:
    return money(value, ccy) if ccy != "JPY" else Decimal(round(value))


def actions(
    plan: HistoryPlan, day: date, last_close: dict[str, float], currency: dict[str, str]
) -> list[ActionTerms]:
    """The vendor's actions going ex on `day`; `last_close`: each symbol's close the day before."""
    out: list[ActionTerms] = []
    announce = day - timedelta(days=21)
    pay = day + timedelta(days=14)
    for sym in dividend_payers_on(plan, day):
        px = last_close.get(sym)
        if px is None or not np.isfinite(px):
            continue
        amount = money(px * DIVIDEND_YIELD, currency[sym])
        if amount > 0:
            out.append(ActionTerms(ref=f"SIMDIV-{sym}-{day:%Y%m%d}"[:64], kind="dividend", security=sym, ex_date=day,
                                   announce_date=announce, record_date=day + timedelta(days=1), pay_date=pay,
                                   amount=amount))  # fmt: skip
    c = plan.corporate
    if day == c.split_day:
        out.append(ActionTerms(ref=f"SIMSPLIT-{c.split}", kind="split", security=c.split, ex_date=day,
                               announce_date=announce, ratio_new=Decimal(SPLIT_RATIO), ratio_old=Decimal(1)))  # fmt: skip
    if day == c.merger_day:
        t_px, a_px = last_close[c.target], last_close[c.acquirer]
        offer = t_px * MERGER_PREMIUM
        ratio = Decimal(repr(round(offer * (1 - MERGER_CASH_SHARE) / a_px, 4)))
        out.append(ActionTerms(ref=f"SIMMERGER-{c.target}", kind="merger", security=c.target, ex_date=day,
                               announce_date=announce, pay_date=pay, amount=money(offer * MERGER_CASH_SHARE, "USD"),
                               ratio_new=ratio, ratio_old=Decimal(1), new_security=c.acquirer,
                               new_price=_px(a_px, "USD"), lieu_price=_px(a_px, "USD")))  # fmt: skip
    if day == c.spinoff_day:
        out.append(ActionTerms(ref=f"SIMSPIN-{c.parent}", kind="spinoff", security=c.parent, ex_date=day,
                               announce_date=announce, ratio_new=Decimal(1), ratio_old=Decimal(SPINOFF_RATIO_OLD),
                               new_security=c.child, allocation=SPINOFF_ALLOCATION,
                               lieu_price=_px(last_close[c.child], "USD")))  # fmt: skip
    return out
