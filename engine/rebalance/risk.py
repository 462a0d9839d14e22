"""A statistical factor risk model from the book's own price history (PCA of daily returns).

Annualised covariance = B B' + diag(s^2) with k principal components as factors. Returns are in
each security's local currency (currency risk is reported apart, as currency drift).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.rebalance.book import Universe
from engine.store.market import PriceBar

FACTORS = 15
WINDOW_DAYS = 400
MIN_SPECIFIC_VOL = 0.02


def factor_model(returns: np.ndarray, k: int = FACTORS) -> tuple[np.ndarray, np.ndarray]:
    """(B, s) from a T x N matrix of daily returns: annualised exposures and specific volatility."""
    r = np.nan_to_num(returns - np.nanmean(returns, axis=0), nan=0.0)
    t = max(len(r) - 1, 1)
    cov = r.T @ r / t * 252.0
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:k]
    b = vecs[:, order] * np.sqrt(np.clip(vals[order], 0.0, None))
    spec = np.clip(np.diag(cov) - (b**2).sum(axis=1), MIN_SPECIFIC_VOL**2, None)
    return b, np.sqrt(spec)


def attach_risk(session: Session, u: Universe, as_of: date, k: int = FACTORS) -> None:
    """Fill u.exposures and u.specific from the last ~year of closes."""
    rows = session.execute(
        select(PriceBar.security_id, PriceBar.date, cast(PriceBar.close, Float)).where(
            PriceBar.date > as_of - timedelta(days=WINDOW_DAYS), PriceBar.date <= as_of
        )
    ).all()
    # By column: a frame built from SQLAlchemy rows inspects each row (a third of this read).
    sid, day, close = zip(*rows) if rows else ((), (), ())
    df = pd.DataFrame({"sid": sid, "date": day, "close": close})
    if df.empty:
        u.exposures = np.zeros((len(u.ids), 1))
        u.specific = np.full(len(u.ids), 0.2)
        return
    wide = df.pivot(index="date", columns="sid", values="close").reindex(columns=u.ids).sort_index()
    rets = np.log(wide.ffill()).diff().iloc[1:].to_numpy()
    b, s = factor_model(rets, min(k, max(1, len(rets) - 1)))
    missing = np.isnan(wide.to_numpy()).all(axis=0)
    b[missing] = 0.0
    s[missing] = 0.3
    u.exposures, u.specific = b, s
