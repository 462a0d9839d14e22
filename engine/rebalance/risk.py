"""A statistical factor risk model from the book's own price history (PCA of daily returns).

Annualised covariance = B B' + diag(s^2) with k principal components as factors. Returns are in
each security's local currency (currency risk is reported apart, as currency drift).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
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
KEEP = 4
"""Risk models remembered (a few as-of dates); the oldest used is dropped first."""

_memo: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_lock = threading.Lock()
stats = {"built": 0, "reused": 0}
"""How often a model was built and reused (tests read it)."""


def factor_model(returns: np.ndarray, k: int = FACTORS) -> tuple[np.ndarray, np.ndarray]:
    """(B, s) from a T x N matrix of daily returns: annualised exposures and specific volatility."""
    seen = (~np.isnan(returns)).sum(axis=0)  # np.nanmean's own sum / count, without its warning
    mean = np.nansum(returns, axis=0) / np.maximum(seen, 1)  # for a security with no returns yet
    r = np.nan_to_num(returns - mean, nan=0.0)
    t = max(len(r) - 1, 1)
    cov = r.T @ r / t * 252.0
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:k]
    b = vecs[:, order] * np.sqrt(np.clip(vals[order], 0.0, None))
    spec = np.clip(np.diag(cov) - (b**2).sum(axis=1), MIN_SPECIFIC_VOL**2, None)
    return b, np.sqrt(spec)


def attach_risk(session: Session, u: Universe, as_of: date, k: int = FACTORS) -> None:
    """Fill u.exposures and u.specific from the last ~year of closes: built once per distinct set of
    closes (the PCA costs a household view or a rebalance run most of its universe load)."""
    rows = session.execute(
        select(PriceBar.security_id, PriceBar.date, cast(PriceBar.close, Float)).where(
            PriceBar.date > as_of - timedelta(days=WINDOW_DAYS), PriceBar.date <= as_of
        )
    ).all()
    # By column: a frame built from SQLAlchemy rows inspects each row (a third of this read).
    sid, day, close = zip(*rows) if rows else ((), (), ())
    if not sid:
        u.exposures = np.zeros((len(u.ids), 1))
        u.specific = np.full(len(u.ids), 0.2)
        return
    key = _key(u.ids, k, sid, day, close)
    with _lock:
        hit = _memo.get(key)
        if hit is not None:
            _memo.move_to_end(key)
            stats["reused"] += 1
    if hit is None:
        hit = _build(u.ids, k, sid, day, close)
        with _lock:
            _memo[key] = hit
            while len(_memo) > KEEP:
                _memo.popitem(last=False)
            stats["built"] += 1
    u.exposures, u.specific = hit[0].copy(), hit[1].copy()


def _key(
    ids: np.ndarray, k: int, sid: tuple[int, ...], day: tuple[date, ...], close: tuple[float, ...]
) -> bytes:
    """A digest of everything the model is built from: the universe's order, k and every close in
    the window, so a price added, corrected or removed (by any desk) builds a new model."""
    h = hashlib.blake2b(digest_size=32)
    h.update(np.asarray(ids, dtype=np.int64).tobytes())
    h.update(np.int64(k).tobytes())
    h.update(np.asarray(sid, dtype=np.int64).tobytes())
    h.update(np.fromiter((d.toordinal() for d in day), dtype=np.int64, count=len(day)).tobytes())
    h.update(np.asarray(close, dtype=np.float64).tobytes())
    return h.digest()


def _build(
    ids: np.ndarray, k: int, sid: tuple[int, ...], day: tuple[date, ...], close: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(exposures, specific) of the universe `ids` from the window's closes (PCA of log returns)."""
    df = pd.DataFrame({"sid": sid, "date": day, "close": close})
    wide = df.pivot(index="date", columns="sid", values="close").reindex(columns=ids).sort_index()
    rets = np.log(wide.ffill()).diff().iloc[1:].to_numpy()
    b, s = factor_model(rets, min(k, max(1, len(rets) - 1)))
    missing = np.isnan(wide.to_numpy()).all(axis=0)
    b[missing] = 0.0
    s[missing] = 0.3
    return b, s


def forget() -> None:
    """Drop every remembered model (tests)."""
    with _lock:
        _memo.clear()
