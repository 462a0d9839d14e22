"""Performance and risk reports per account from the rebuilt daily history.

Returns: daily sub-period returns with end-of-day flows, linked (time-weighted, not annualized),
Modified Dietz and money-weighted (annualized, ACT/365) over the range. The base-currency return
splits into local return (holdings revalued at the previous day's FX) and currency return:
(1 + base) = (1 + local) x (1 + currency). Benchmark: the account's model (its flattened target
weights, rebalanced daily, in the account's base currency; the rest in cash at zero return) or a
security of the book named by symbol (e.g. an index ETF), translated to base currency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.analytics import (
    AnalyticsError,
    annualized_volatility,
    beta,
    expected_shortfall,
    historical_var,
    information_ratio,
    max_drawdown,
    modified_dietz,
    money_weighted_return,
    parametric_var,
    sharpe_ratio,
    sortino_ratio,
    time_weighted_return,
    tracking_error,
)
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.reports.history import AccountHistory, account_history, closes
from engine.reports.lot_history import cumulative_factor, split_factors
from engine.reports.numbers import money
from engine.store.accounts import Account, ModelComponent
from engine.store.reference import Security

StoredHistory = Callable[[Session, int, date, date], pd.DataFrame | None]
"""Stored daily values (engine.daycycle.history.stored_history): an account's `value` and `flow`
by date in base currency over the period, or None when the day cycle has not stored them all."""


def value_returns(f: pd.DataFrame) -> pd.Series:
    """Daily returns of a `value`/`flow` frame with end-of-day flows: (V_t - F_t) / V_{t-1} - 1."""
    return ((f["value"] - f["flow"]) / f["value"].shift(1) - 1.0).iloc[1:]


def daily_returns(h: AccountHistory) -> tuple[pd.Series, pd.Series]:
    """(base, local) daily returns with end-of-day flows: (V_t - F_t) / V_{t-1} - 1."""
    f = h.frame
    prev = f["value"].shift(1)
    base = ((f["value"] - f["flow"]) / prev - 1.0).iloc[1:]
    local = ((f["value_prev_fx"] - f["flow"]) / prev - 1.0).iloc[1:]
    return base, local


def _model_weights(session: Session, model_id: int) -> dict[int, float]:
    """Security weights of a model with sub-models flattened (weights multiply down the tree)."""
    out: dict[int, float] = {}

    def walk(mid: int, scale: float, depth: int) -> None:
        if depth > 10:
            raise AnalyticsError(f"model {mid} nests more than 10 levels (a cycle?)")
        for c in session.scalars(select(ModelComponent).where(ModelComponent.model_id == mid)):
            w = float(c.weight) * scale
            if c.security_id is not None:
                out[c.security_id] = out.get(c.security_id, 0.0) + w
            elif c.sub_model_id is not None:
                walk(c.sub_model_id, w, depth + 1)

    walk(model_id, 1.0, 0)
    return out


def _security_returns(
    session: Session, ids: list[int], dates: pd.DatetimeIndex, base: str, fx: FxTable
) -> pd.DataFrame:
    """Daily base-currency price returns of securities on `dates` (forward-filled, split-adjusted)."""
    d64 = dates.to_numpy(dtype="datetime64[D]")
    wide = pd.DataFrame(closes(session, np.array(ids, dtype=np.int64), d64), index=dates, columns=ids)
    ccy = dict(session.execute(select(Security.id, Security.currency).where(Security.id.in_(ids))).all())
    d = list(d64)
    splits = split_factors(session, ids)
    for sid in wide.columns:
        # Split-adjusted: a close x C(date) is in the same shares on both sides of an ex-date.
        adjust = cumulative_factor(splits, int(sid), d64)
        wide[sid] = wide[sid] * adjust * fx.rates([ccy[sid]] * len(d), [base] * len(d), d)
    return wide.pct_change(fill_method=None).iloc[1:]


def benchmark_returns(
    session: Session, account: Account, dates: pd.DatetimeIndex, fx: FxTable, benchmark: str
) -> tuple[str, pd.Series]:
    """(label, daily returns) of the model or of a named security, in the account's base currency."""
    if benchmark == "model":
        if account.model_id is None:
            raise NotFound(f"account {account.code} has no model to compare with")
        weights = _model_weights(session, account.model_id)
        rets = _security_returns(session, sorted(weights), dates, account.base_currency, fx)
        w = np.array([weights[s] for s in rets.columns])
        return f"model {account.model.code if account.model else account.model_id}", pd.Series(
            rets.fillna(0.0).to_numpy() @ w, index=rets.index
        )
    sid = session.scalars(select(Security.id).where(Security.symbol == benchmark)).first()
    if sid is None:
        raise NotFound(f"no security {benchmark!r} to use as a benchmark")
    rets = _security_returns(session, [sid], dates, account.base_currency, fx)
    return benchmark, rets[sid]


def _r(x: float, nd: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _money(x: float, currency: str) -> float | None:
    """An amount in the account's base currency, to its minor unit (JPY 0, KWD 3)."""
    return None if x is None or not np.isfinite(x) else float(money(x, currency))


def performance_report(
    session: Session,
    ids: list[int],
    start: date,
    end: date,
    benchmark: str = "model",
    stored: StoredHistory | None = None,
) -> dict[str, Any]:
    """The `report performance --json` document (shape in docs/reports.md).

    With `stored`, an account whose daily values the day cycle stored for the period is measured
    on them (`"source": "daily_values"`: the true history of values and flows); the others, and
    every account without `stored`, on the history rebuilt from today's lots
    (`"source": "reconstructed"`). Stored values carry no local/currency split (those are null).
    """
    fx = FxTable.load(session, start=start, end=end)
    out = []
    for aid in ids:
        acct = session.get(Account, aid)
        assert acct is not None
        kept = stored(session, aid, start, end) if stored is not None else None
        notes: list[str] = []
        if kept is not None:
            f = kept
            flows = f["flow"][f["flow"] != 0]
            base_r = value_returns(f)
            twr = time_weighted_return(f["value"], flows)
            local_ret: float | None = None
            notes.append("stored daily values: no local/currency split")
        else:
            h = account_history(session, aid, start, end, fx)
            f = h.frame
            flows = f["flow"][f["flow"] != 0]
            base_r, local_r = daily_returns(h)
            twr = time_weighted_return(f["value"], flows)
            local_ret = float(np.prod(1.0 + local_r.to_numpy()) - 1.0)
        ccy = acct.base_currency
        row: dict[str, Any] = {
            "account": acct.code,
            "base_currency": ccy,
            "source": "reconstructed" if kept is None else "daily_values",
            "from": f.index[0].date().isoformat(),
            "to": f.index[-1].date().isoformat(),
            "start_value": _money(f["value"].iloc[0], ccy),
            "end_value": _money(f["value"].iloc[-1], ccy),
            "net_flows": _money(f["flow"].iloc[1:].sum() if kept is not None else f["flow"].sum(), ccy),
            "twr": _r(twr),
            "local_return": None if local_ret is None else _r(local_ret),
            "currency_return": None if local_ret is None else _r((1 + twr) / (1 + local_ret) - 1),
        }
        for key, fn in (("modified_dietz", modified_dietz), ("mwr_annualized", money_weighted_return)):
            try:
                row[key] = _r(fn(f["value"], flows))
            except AnalyticsError as exc:
                row[key] = None
                notes.append(f"{key}: {exc}")
        if notes:
            row["notes"] = notes
        try:
            label, bench = benchmark_returns(session, acct, f.index, fx, benchmark)
            row["benchmark"] = label
            row["benchmark_return"] = _r(float(np.prod(1 + bench.to_numpy()) - 1))
            row["active_return"] = _r(twr - row["benchmark_return"])
            row["tracking_error"] = _r(tracking_error(base_r, bench))
            row["information_ratio"] = _r(information_ratio(base_r, bench))
            row["beta"] = _r(beta(base_r, bench))
        except (AnalyticsError, NotFound) as exc:
            row["benchmark"] = None
            row["benchmark_note"] = str(exc)
        out.append(row)
    return {"report": "performance", "from": start.isoformat(), "to": end.isoformat(), "rows": out}


def risk_report(
    session: Session, ids: list[int], start: date, end: date, confidence: float = 0.99, horizon_days: int = 1
) -> dict[str, Any]:
    """The `report risk --json` document: ex-post risk of each account's daily base-currency returns."""
    fx = FxTable.load(session, start=start, end=end)
    out = []
    for aid in ids:
        acct = session.get(Account, aid)
        assert acct is not None
        h = account_history(session, aid, start, end, fx)
        base_r, _ = daily_returns(h)
        index = (1.0 + base_r).cumprod()
        row: dict[str, Any] = {
            "account": acct.code,
            "base_currency": acct.base_currency,
            "observations": len(base_r),
        }
        try:
            dd = max_drawdown(pd.concat([pd.Series([1.0], index=h.frame.index[:1]), index]))
            value = float(h.frame["value"].iloc[-1])
            hv = historical_var(base_r, confidence, horizon_days)
            row.update(
                volatility=_r(annualized_volatility(base_r)),
                max_drawdown=_r(dd.depth),
                drawdown_peak=dd.peak.isoformat(),
                drawdown_trough=dd.trough.isoformat(),
                confidence=confidence,
                horizon_days=horizon_days,
                historical_var=_r(hv),
                historical_var_amount=_money(hv * value, h.base_currency),
                parametric_var=_r(parametric_var(base_r, confidence, horizon_days)),
                expected_shortfall=_r(expected_shortfall(base_r, confidence)),
                sharpe=_r(sharpe_ratio(base_r)),
                sortino=_r(sortino_ratio(base_r)),
            )
        except AnalyticsError as exc:
            row["note"] = str(exc)
        out.append(row)
    return {"report": "risk", "from": start.isoformat(), "to": end.isoformat(), "rows": out}
