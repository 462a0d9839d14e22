"""Attribution of one account against its model: daily weights and contributions from the store.

Portfolio: each security's start-of-day weight is its value at the previous close over the
account's value (engine.reports.history); its contribution is that weight x its split-adjusted
price return, in local currency and in base currency. The `cash` segment holds cash and takes the
rest of the day's return, so the contributions add up exactly to the daily return of `report
performance` (cash interest, income, fees, and trade prices differing from the close land there).
Benchmark: the model's looked-through weights rebalanced daily (as `report performance`), the
remainder in cash at zero return. Segments are sectors or asset classes of the securities.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.analytics.attribution import EFFECTS, Attribution, AttributionInput, attribute, combine
from engine.analytics.errors import AnalyticsError
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.reports.history import account_history, closes
from engine.reports.lot_history import cumulative_factor, split_factors
from engine.reports.performance import _model_weights
from engine.store.accounts import Account, Household
from engine.store.reference import Security

CASH = "cash"
BY = ("sector", "asset_class", "currency")


def _daily_returns(value: np.ndarray, num: np.ndarray) -> np.ndarray:
    """(V_t - F_t) / V_{t-1} - 1 with `report performance`'s idle rule (0 -> 0 is a zero return)."""
    den = value[:-1]
    idle = (den == 0) & (num == 0)
    if ((den <= 0) & ~idle).any():
        raise AnalyticsError("attribution undefined: the account starts a day from a zero or negative value")
    return np.where(idle, 0.0, num / np.where(idle, 1.0, den) - 1.0)


def attribution_input(
    session: Session, account: Account, start: date, end: date, by: str = "sector"
) -> tuple[date, AttributionInput]:
    """(first date, daily weights and contributions by segment) for the account and its model."""
    first, x, _ = _account_input(
        session, account, start, end, by, FxTable.load(session, start=start, end=end)
    )
    return first, x


def _account_input(
    session: Session, account: Account, start: date, end: date, by: str, fx: FxTable
) -> tuple[date, AttributionInput, np.ndarray]:
    """(first date, input, start-of-day values in base currency for each return date)."""
    if by not in BY:
        raise AnalyticsError(f"--by must be one of {', '.join(BY)}, got {by!r}")
    if account.model_id is None:
        raise NotFound(f"account {account.code} has no model to compare with")
    base = account.base_currency
    h = account_history(session, account.id, start, end, fx)
    f = h.frame
    dates = f.index
    d64 = dates.to_numpy(dtype="datetime64[D]")
    n = len(dates)
    if n < 2:
        raise AnalyticsError(f"attribution needs at least two price dates between {start} and {end}")
    model = _model_weights(session, account.model_id)
    held_syms = [s for s in h.quantities.columns if (h.quantities[s] != 0).any()]
    rows = session.execute(
        select(
            Security.id,
            Security.symbol,
            Security.currency,
            Security.price_multiplier,
            getattr(Security, by),
        ).where(Security.symbol.in_(held_syms) | Security.id.in_(list(model)))
    ).all()
    info = pd.DataFrame(rows, columns=["id", "symbol", "currency", "mult", "segment"]).set_index("id")
    ids = list(info.index)
    price = closes(session, np.array(ids, dtype=np.int64), d64)
    splits = split_factors(session, ids)
    rate = np.ones((n, len(ids)))
    adj = np.empty((n, len(ids)))
    for j, sid in enumerate(ids):
        rate[:, j] = fx.rates([info.at[sid, "currency"]] * n, [base] * n, list(d64))
        adj[:, j] = price[:, j] * cumulative_factor(splits, int(sid), d64)
    r_local = np.nan_to_num(adj[1:] / adj[:-1] - 1.0)
    r_base = np.nan_to_num((adj[1:] * rate[1:]) / (adj[:-1] * rate[:-1]) - 1.0)

    qty = np.zeros((n, len(ids)))
    for j, sid in enumerate(ids):
        sym = info.at[sid, "symbol"]
        if sym in h.quantities.columns:
            qty[:, j] = h.quantities[sym].to_numpy()
    mult = info["mult"].astype(float).to_numpy()
    mv = np.where(qty != 0, qty * np.nan_to_num(price) * mult * rate, 0.0)
    value = f["value"].to_numpy()
    rp = _daily_returns(value, value[1:] - f["flow"].to_numpy()[1:])
    rp_local = _daily_returns(value, f["value_prev_fx"].to_numpy()[1:] - f["flow"].to_numpy()[1:])
    den = np.where(value[:-1] == 0, 1.0, value[:-1])[:, None]
    wp_sec = mv[:-1] / den
    wb_sec = np.tile(np.array([model.get(int(s), 0.0) for s in ids]), (n - 1, 1))

    seg_names = info["segment"].fillna("unclassified").astype(str).to_numpy()
    segments = [*sorted(set(seg_names) - {CASH}), CASH]
    index = dates[1:]

    def by_segment(x: np.ndarray, rest: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame(0.0, index=index, columns=segments)
        for s in set(seg_names):
            out[s] += x[:, seg_names == s].sum(axis=1)
        out[CASH] += rest
        return out

    cp_l, cp_b = wp_sec * r_local, wp_sec * r_base
    cb_l, cb_b = wb_sec * r_local, wb_sec * r_base
    zero = np.zeros(n - 1)
    return (
        dates[0].date(),
        AttributionInput(
            wp=by_segment(wp_sec, 1.0 - wp_sec.sum(axis=1)),
            wb=by_segment(wb_sec, 1.0 - wb_sec.sum(axis=1)),
            cp_local=by_segment(cp_l, rp_local - cp_l.sum(axis=1)),
            cb_local=by_segment(cb_l, zero),
            cp_base=by_segment(cp_b, rp - cp_b.sum(axis=1)),
            cb_base=by_segment(cb_b, zero),
            rb_empty={CASH: 0.0},
        ),
        value[:-1],
    )


def _r(x: float) -> float:
    return round(float(x), 8) + 0.0  # no "-0.0" in the document


def _document(a: Attribution, x: AttributionInput, first: date) -> dict[str, Any]:
    """The figures shared by the account and household documents."""
    totals = a.totals
    p_local, b_local = a.local_returns()
    segs = [
        {
            "segment": str(name),
            **{k: _r(row[k]) for k in ("wp", "wb", "rp", "rb", "allocation", "selection", "interaction")},
            "currency": _r(row["currency"]),
        }
        for name, row in a.segments.iterrows()
    ]
    return {
        "from": first.isoformat(),
        "to": x.wp.index[-1].date().isoformat(),
        "linking": "carino",
        "portfolio_return": _r(a.portfolio_return),
        "benchmark_return": _r(a.benchmark_return),
        "active_return": _r(a.active_return),
        "portfolio_local_return": _r(p_local),
        "benchmark_local_return": _r(b_local),
        "segments": segs,
        "totals": {e: _r(totals[e]) for e in EFFECTS if e != "currency"},
        "currency_effect": _r(totals["currency"]),
        "residual": _r(a.residual),
    }


def attribution_report(
    session: Session, account_code: str, start: date, end: date, by: str = "sector"
) -> dict[str, Any]:
    """The `report attribution --account --json` document (shape in docs/reports.md)."""
    account = session.scalars(select(Account).where(Account.code == account_code)).first()
    if account is None:
        raise NotFound(f"no account {account_code!r}")
    first, x = attribution_input(session, account, start, end, by)
    return {
        "report": "attribution",
        "account": account.code,
        "base_currency": account.base_currency,
        "benchmark": f"model {account.model.code if account.model else account.model_id}",
        "by": by,
        **_document(attribute(x), x, first),
    }


def household_attribution_report(
    session: Session, household_code: str, start: date, end: date, by: str = "sector", currency: str = "USD"
) -> dict[str, Any]:
    """The `report attribution --household --json` document: the accounts combined in `currency`.

    Each account is measured against its own model; the household benchmark is those models
    blended by the accounts' start-of-day values (engine.analytics.attribution.combine).
    """
    hh = session.scalars(select(Household).where(Household.code == household_code)).first()
    if hh is None:
        raise NotFound(f"no household {household_code!r}")
    accounts = sorted(hh.accounts, key=lambda a: a.code)
    if not accounts:
        raise NotFound(f"household {household_code} has no accounts")
    fx = FxTable.load(session, start=start, end=end)
    parts, values, moves = [], [], []
    first = start
    for acct in accounts:
        first, x, v = _account_input(session, acct, start, end, by, fx)
        d = list(x.wp.index.to_numpy(dtype="datetime64[D]"))
        days = np.array([np.datetime64(first), *d], dtype="datetime64[D]")
        rate = fx.rates([acct.base_currency] * len(days), [currency] * len(days), list(days))
        parts.append(x)
        values.append(v * rate[:-1])
        moves.append(rate[1:] / rate[:-1] - 1.0)
    x = combine(parts, values, moves)
    return {
        "report": "attribution",
        "household": hh.code,
        "accounts": [a.code for a in accounts],
        "base_currency": currency,
        "benchmark": "models of the accounts, value-weighted",
        "by": by,
        **_document(attribute(x), x, first),
    }
