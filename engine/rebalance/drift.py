"""Drift of every account against its model, vectorized over the whole book.

Weights are fractions of the account's total value in its base currency (securities at the
as-of close and FX, plus cash in every currency). The model's look-through weights (sub-models
multiplied out) are scaled by (1 - cash target); the cash target is the model's base-currency
cash. Drift = current - model, per security and aggregated by sector, asset class, country and
currency; currency drift (what currency the value is in) is reported apart from asset drift.
Cash appears as the symbol ``CASH:<ccy>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.prepare import suspended_reason, suspension

DIMENSIONS = ("sector", "asset_class", "country")


@dataclass
class BookDrift:
    """Dense A x N matrices of current and model weights, plus cash, for A accounts."""

    accounts: list[AccountInput]
    universe: Universe
    value: np.ndarray  # A, base currency
    weights: np.ndarray  # A x N
    model: np.ndarray  # A x N
    cash_ccys: list[str]
    cash_weights: np.ndarray  # A x C
    mv_base: np.ndarray  # A x N

    @property
    def drift(self) -> np.ndarray:
        return self.weights - self.model

    def cash_weight(self) -> np.ndarray:
        return self.cash_weights.sum(axis=1)

    def summary(self) -> list[dict[str, Any]]:
        """One row per account, ranked by worst security drift relative to the band."""
        d = self.drift
        absd = np.abs(d)
        worst = absd.argmax(axis=1) if d.shape[1] else np.zeros(len(d), dtype=int)
        rows = []
        cash_w = self.cash_weight()
        for i, a in enumerate(self.accounts):
            max_d = float(absd[i, worst[i]]) if d.shape[1] else 0.0
            cash_drift = float(cash_w[i] - a.cash_target)
            triggers = []
            if max_d > a.band:
                triggers.append("band breached")
            if cash_drift > a.band:
                triggers.append("cash above target")
            if cash_w[i] < a.cash_floor:
                triggers.append("cash below floor")
            held_excluded = [int(x) for x in a.excluded if self.weights[i, x] > 0 and not a.keep_legacy]
            if held_excluded:
                triggers.append("holds excluded securities")
            if a.new_model_weights:
                triggers.append("new model weights")
            rows.append(
                {
                    "account": a.code,
                    "model": self.universe.model_codes.get(a.model_id or -1),
                    "base_currency": a.base,
                    "value_base": round(float(self.value[i]), 2),
                    "band": a.band,
                    "max_drift": round(max_d, 6),
                    "max_drift_symbol": str(self.universe.symbols[worst[i]]) if d.shape[1] else None,
                    "total_drift": round(float(absd[i].sum() + abs(cash_drift)) / 2, 6),
                    "cash_weight": round(float(cash_w[i]), 6),
                    "cash_target": a.cash_target,
                    "ratio": round(max_d / a.band, 4) if a.band > 0 else float("inf"),
                    "triggers": triggers,
                    "suspended": self._suspended(i),
                }
            )
        rows.sort(key=lambda r: -float(r["ratio"]))  # type: ignore[arg-type]
        return rows

    def _suspended(self, i: int) -> str | None:
        """`suspended: stale price for X (...)` when a stale price or rate suspends the account."""
        items = suspension(self.universe, self.accounts[i])
        return suspended_reason(items) if items else None

    def stale(self, i: int) -> list[dict[str, Any]]:
        """The stale prices and FX rates account i depends on (engine.pricing.staleness)."""
        return [item.as_dict() for item in suspension(self.universe, self.accounts[i])]

    def drifted(self) -> list[int]:
        """Account ids with any trigger (band breached, cash above target or below floor, excluded
        holdings, new model weights)."""
        return [a.id for a, r in zip(self.accounts, self._trigger_mask()) if r]

    def _trigger_mask(self) -> np.ndarray:
        band = np.array([a.band for a in self.accounts])
        ct = np.array([a.cash_target for a in self.accounts])
        floor = np.array([a.cash_floor for a in self.accounts])
        cw = self.cash_weight()
        mask = (np.abs(self.drift).max(axis=1, initial=0.0) > band) | (cw - ct > band) | (cw < floor)
        mask |= np.array([a.new_model_weights for a in self.accounts], dtype=bool)
        for i, a in enumerate(self.accounts):
            if not a.keep_legacy and len(a.excluded) and (self.weights[i, a.excluded] > 0).any():
                mask[i] = True
        return mask

    def by(self, dim: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(labels, current A x G, model A x G) aggregated over a security attribute."""
        attr = getattr(self.universe, dim)
        labels = sorted(set(attr))
        onehot = np.zeros((len(attr), len(labels)))
        onehot[np.arange(len(attr)), [labels.index(x) for x in attr]] = 1.0
        return labels, self.weights @ onehot, self.model @ onehot

    def by_currency(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Currency exposure: securities by their currency plus cash by its own; model cash in base."""
        u = self.universe
        labels = sorted(set(u.currency) | set(self.cash_ccys) | {a.base for a in self.accounts})
        onehot = np.zeros((len(u.currency), len(labels)))
        onehot[np.arange(len(u.currency)), [labels.index(c) for c in u.currency]] = 1.0
        cur = self.weights @ onehot
        mod = self.model @ onehot
        for j, c in enumerate(self.cash_ccys):
            cur[:, labels.index(c)] += self.cash_weights[:, j]
        for i, a in enumerate(self.accounts):
            mod[i, labels.index(a.base)] += a.cash_target
        return labels, cur, mod

    def account_detail(self, i: int) -> dict[str, Any]:
        """Model weights, current weights and drift by symbol (cash as CASH:<ccy>) and by dimension."""
        a = self.accounts[i]
        u = self.universe
        idx = np.flatnonzero((self.weights[i] != 0) | (self.model[i] != 0))
        model_w = {str(u.symbols[j]): round(float(self.model[i, j]), 8) for j in idx}
        cur_w = {str(u.symbols[j]): round(float(self.weights[i, j]), 8) for j in idx}
        for j, c in enumerate(self.cash_ccys):
            if self.cash_weights[i, j] != 0:
                cur_w[f"CASH:{c}"] = round(float(self.cash_weights[i, j]), 8)
        model_w[f"CASH:{a.base}"] = round(a.cash_target, 8) + model_w.get(f"CASH:{a.base}", 0.0)
        syms = sorted(set(model_w) | set(cur_w))
        for s in syms:
            model_w.setdefault(s, 0.0)
            cur_w.setdefault(s, 0.0)
        drift = {s: round(cur_w[s] - model_w[s], 8) for s in syms}
        v = float(self.value[i])
        dims: dict[str, Any] = {}
        for dim in DIMENSIONS:
            labels, cur, mod = self.by(dim)
            dims[dim] = _dim_rows(labels, cur[i], mod[i], v)
        labels, cur, mod = self.by_currency()
        dims["currency"] = _dim_rows(labels, cur[i], mod[i], v)
        return {
            "account": a.code,
            "model": u.model_codes.get(a.model_id or -1),
            "base_currency": a.base,
            "value_base": round(v, 2),
            "band": a.band,
            "model_weights": dict(sorted(model_w.items())),
            "current_weights": dict(sorted(cur_w.items())),
            "drift": dict(sorted(drift.items())),
            "drift_value_base": {s: round(d * v, 2) for s, d in sorted(drift.items())},
            "breaches": sorted(s for s, d in drift.items() if abs(d) > a.band),
            "by": dims,
            "stale": self.stale(i),
        }


def _dim_rows(labels: list[str], cur: np.ndarray, mod: np.ndarray, value: float) -> dict[str, Any]:
    out = {}
    for j, lab in enumerate(labels):
        if cur[j] == 0 and mod[j] == 0:
            continue
        d = float(cur[j] - mod[j])
        out[lab] = {
            "weight": round(float(cur[j]), 8),
            "model": round(float(mod[j]), 8),
            "drift": round(d, 8),
            "drift_base": round(d * value, 2),
        }
    return out


def book_drift(u: Universe, accounts: list[AccountInput]) -> BookDrift:
    """Vectorized drift of all `accounts`: one bincount for holdings, one gather for models."""
    n = len(u.ids)
    a_n = len(accounts)
    bases = sorted({a.base for a in accounts})
    pb = {b: u.price_base(b) for b in bases}
    counts = np.array([len(a.lot_sec) for a in accounts], dtype=int)
    row = np.repeat(np.arange(a_n), counts)
    sec = np.concatenate([a.lot_sec for a in accounts]) if a_n else np.array([], dtype=int)
    qty = np.concatenate([a.lot_qty for a in accounts]) if a_n else np.array([])
    base_px = np.vstack([pb[b] for b in bases]) if bases else np.zeros((0, n))
    bidx = np.array([bases.index(a.base) for a in accounts], dtype=int)
    mv = np.bincount(row * n + sec, weights=qty * base_px[bidx[row], sec], minlength=a_n * n).reshape(a_n, n)
    ccys = sorted({c for a in accounts for c in a.cash})
    cash = np.zeros((a_n, len(ccys)))
    for i, a in enumerate(accounts):
        fx = u.fx_to[a.base]
        for c, amt in a.cash.items():
            cash[i, ccys.index(c)] = amt * fx[c]
    value = mv.sum(axis=1) + cash.sum(axis=1)
    safe = np.where(value > 0, value, 1.0)
    weights = mv / safe[:, None]
    model = np.zeros((a_n, n))
    for i, a in enumerate(accounts):
        if a.model_id is not None and a.model_id in u.models:
            model[i] = u.models[a.model_id] * (1.0 - a.cash_target)
    return BookDrift(accounts, u, value, weights, model, ccys, cash / safe[:, None], mv)
