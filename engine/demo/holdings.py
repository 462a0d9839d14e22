"""Simulated holdings: drifted model positions bought in lots over the history, plus cash.

Each lot is bought on a real session of its exchange at that day's (simulated) close, and
records the real ECB cross rate to the account's base currency on that day. Quantities are
whole board lots (100 in Tokyo, the stock's lot in Hong Kong, 1,000 face for bonds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.demo.clients import DemoAccount
from engine.model.currency import minor_units


@dataclass
class MarketArrays:
    """Dense arrays for fast per-account generation."""

    symbols: np.ndarray
    sym_index: dict[str, int]
    currency: np.ndarray
    lot_size: np.ndarray
    multiplier: np.ndarray
    flags: list[list[str]]
    decimals: np.ndarray
    dates: pd.DatetimeIndex
    close_ff: np.ndarray  # days x securities, last close on or before the day
    last_session: np.ndarray  # days x securities, index of that close's day
    eur_per: np.ndarray  # days x currencies, units per EUR (EUR = 1)
    ccy_index: dict[str, int]


def market_arrays(universe: pd.DataFrame, closes: pd.DataFrame, ecb: pd.DataFrame) -> MarketArrays:
    closes = closes[list(universe["symbol"])]
    valid = closes.notna().to_numpy()
    idx = np.where(valid, np.arange(len(closes))[:, None], np.nan)
    last = pd.DataFrame(idx).ffill().bfill().to_numpy().astype(int)
    ccys = sorted(set(universe["currency"]) | {"USD", "EUR"} | set(ecb.columns))
    eur = ecb.reindex(closes.index).ffill().bfill()
    eur["EUR"] = 1.0
    eur = eur.reindex(columns=ccys)
    dec = np.where(
        universe["currency"] == "JPY", 0, np.where(universe["asset_class"] == "fixed_income", 3, 2)
    )
    return MarketArrays(
        symbols=universe["symbol"].to_numpy(),
        sym_index={s: i for i, s in enumerate(universe["symbol"])},
        currency=universe["currency"].to_numpy(),
        lot_size=universe["lot_size"].to_numpy(dtype=float),
        multiplier=universe["price_multiplier"].to_numpy(dtype=float),
        flags=list(universe["esg_flags"]),
        decimals=dec,
        dates=closes.index,
        close_ff=closes.ffill().bfill().to_numpy(),
        last_session=last,
        eur_per=eur.to_numpy(),
        ccy_index={c: i for i, c in enumerate(ccys)},
    )


def _fx(m: MarketArrays, day: np.ndarray | int, from_ccy: np.ndarray, to_ccy: str) -> np.ndarray:
    fi = np.fromiter((m.ccy_index[c] for c in from_ccy), dtype=int, count=len(from_ccy))
    return m.eur_per[day, m.ccy_index[to_ccy]] / m.eur_per[day, fi]


def build_holdings(
    accounts: list[DemoAccount],
    model_weights: dict[str, dict[str, float]],
    m: MarketArrays,
    rng: np.random.Generator,
    equity_pool: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(lots, cash, exclusions) as DataFrames keyed by account code and symbol."""
    n_days = len(m.dates)
    last_day = n_days - 1
    weights_idx = {
        code: (np.array([m.sym_index[s] for s in w]), np.array(list(w.values())))
        for code, w in model_weights.items()
    }
    lot_cols: dict[str, list[np.ndarray]] = {k: [] for k in ("account", "sec", "qty", "day", "seq")}
    cash_rows: list[tuple[str, str, float]] = []
    excl_rows: list[tuple[str, str]] = []
    for acct in accounts:
        sec, w = weights_idx[acct.model]
        sec, w = sec.copy(), w.copy()
        if acct.esg_exclusions and rng.random() < 0.5:
            keep = np.array([not (set(m.flags[i]) & set(acct.esg_exclusions)) for i in sec])
            sec, w = sec[keep], w[keep]
        w = w * np.exp(rng.normal(0, 0.25, len(w)))
        w[rng.random(len(w)) < 0.05] = 0.0
        if rng.random() < 0.3:
            extra = rng.choice(equity_pool, size=int(rng.integers(1, 4)), replace=False)
            extra = extra[~np.isin(extra, sec)]
            sec = np.concatenate([sec, extra])
            w = np.concatenate([w, rng.uniform(0.005, 0.02, len(extra))])
        if rng.random() < 0.05 and len(sec):
            for i in rng.choice(sec, size=min(2, len(sec)), replace=False):
                excl_rows.append((acct.code, str(m.symbols[i])))
        cash_w = float(np.clip(acct.cash_target * np.exp(rng.normal(0, 0.6)), 0.002, 0.15))
        w = w / w.sum() * (1.0 - cash_w)
        value_base = acct.value_usd * float(_fx(m, last_day, np.array(["USD"]), acct.base_currency)[0])
        px_base = (
            m.close_ff[last_day, sec]
            * m.multiplier[sec]
            * _fx(m, last_day, m.currency[sec], acct.base_currency)
        )
        lots_of = m.lot_size[sec]
        qty = np.floor(value_base * w / (px_base * lots_of)) * lots_of
        held = qty > 0
        sec, qty, lots_of = sec[held], qty[held], lots_of[held]
        n_lots = rng.choice([1, 2, 3], size=len(sec), p=[0.8, 0.15, 0.05])
        rep = np.repeat(np.arange(len(sec)), n_lots)
        share = rng.dirichlet(np.ones(3), size=len(sec)) * (np.arange(3) < n_lots[:, None])
        share /= share.sum(axis=1, keepdims=True)
        part = share[np.arange(3) < n_lots[:, None]]
        lot_qty = np.floor(qty[rep] * part / lots_of[rep]) * lots_of[rep]
        # Give any rounding remainder to the first lot of each position so lots sum to the position.
        first = np.r_[0, np.cumsum(n_lots)[:-1]] if len(sec) else np.array([], dtype=int)
        remainder = qty - np.bincount(rep, weights=lot_qty, minlength=len(sec))
        lot_qty[first] += remainder
        keep = lot_qty > 0
        draw_day = rng.integers(5, max(6, n_days - 22), size=len(rep))
        lot_cols["account"].append(np.full(int(keep.sum()), acct.code, dtype=object))
        lot_cols["sec"].append(sec[rep][keep])
        lot_cols["qty"].append(lot_qty[keep])
        lot_cols["day"].append(draw_day[keep])
        lot_cols["seq"].append(np.arange(int(keep.sum())))
        cash_base = value_base * cash_w
        cash_rows.append((acct.code, acct.base_currency, round(cash_base, minor_units(acct.base_currency))))
        if rng.random() < 0.3 and len(sec):
            foreign = sorted(set(m.currency[sec]) - {acct.base_currency})
            for ccy in foreign[: int(rng.integers(1, 3))]:
                amount = (
                    value_base
                    * rng.uniform(0.001, 0.01)
                    / float(_fx(m, last_day, np.array([ccy]), acct.base_currency)[0])
                )
                cash_rows.append((acct.code, ccy, round(amount, minor_units(ccy))))
    cat = {k: np.concatenate(v) if v else np.array([]) for k, v in lot_cols.items()}
    sec = cat["sec"].astype(int)
    session_day = m.last_session[cat["day"].astype(int), sec]
    noise = 1.0 + rng.normal(0, 0.003, len(sec))
    raw_cost = m.close_ff[session_day, sec] * noise
    unit_cost = np.empty(len(sec))
    for d in np.unique(m.decimals[sec]):
        sel = m.decimals[sec] == d
        unit_cost[sel] = np.round(raw_cost[sel], int(d))
    base_by_account = {a.code: a.base_currency for a in accounts}
    base = np.array([base_by_account[a] for a in cat["account"]], dtype=object)
    fx_rate = np.empty(len(sec))
    for b in set(base):
        sel = base == b
        fx_rate[sel] = _fx(m, session_day[sel], m.currency[sec[sel]], b)
    lots = pd.DataFrame(
        {
            "account": cat["account"],
            "symbol": m.symbols[sec],
            "lot_ref": [f"DEMO-{int(s) + 1:04d}" for s in cat["seq"]],
            "quantity": cat["qty"],
            "unit_cost": unit_cost,
            "acquired": m.dates[session_day].date,
            "fx_rate": np.round(fx_rate, 10),
        }
    )
    cash = pd.DataFrame(cash_rows, columns=["account", "currency", "settled"])
    excl = pd.DataFrame(excl_rows, columns=["account", "symbol"]).drop_duplicates()
    return lots, cash, excl
