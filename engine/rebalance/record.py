"""The proposal record: the stable JSON shape of one account's result (see docs/rebalance.md)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engine.model.currency import minor_units
from engine.rebalance.book import Universe
from engine.rebalance.check import Outcome
from engine.rebalance.explain import drift_note, effective_drift
from engine.rebalance.prepare import Prepared
from engine.rebalance.rounding import Rounded
from engine.rebalance.run_limits import run_limits
from engine.rebalance.settings import FX_COST, Mode, RebalanceSettings
from engine.rebalance.shares import unit_shares


def tracking_error(p: Prepared, u: Universe, w: np.ndarray) -> float:
    """Annualised tracking error of weights `w` (over the account's securities) to the model."""
    d = w - p.wm
    b = u.exposures[p.idx] if u.exposures is not None else np.zeros((p.n, 1))
    spec = u.specific[p.idx] if u.specific is not None else np.zeros(p.n)
    return float(np.sqrt(np.sum((b.T @ d) ** 2) + np.sum((spec * d) ** 2)))


def _side(p: Prepared, u: Universe, w: np.ndarray, qty: np.ndarray, cash: dict[str, float]) -> dict[str, Any]:
    a = p.account
    sym = u.symbols[p.idx]
    fx = u.fx_to[a.base]
    cash_base = {c: amt * fx[c] for c, amt in cash.items()}
    held = np.flatnonzero(qty > 0)
    names = [str(x) for x in sym[held]]
    # Weights of this side's own value (after costs, the value after trading is a little lower
    # than before), rounded once so that they add up to exactly one.
    cash_keys = [c for c in sorted(cash_base) if abs(cash.get(c, 0.0)) > 0]
    values = (qty[held] * p.pb[held]).tolist() + [cash_base[c] for c in cash_keys]
    total = sum(values)
    if total > 0:
        w = qty * p.pb / total
        shares = unit_shares([v / total for v in values], 8)
    else:
        shares = [round(x, 8) for x in w[held].tolist()] + [0.0] * len(cash_keys)
    weights = dict(zip(names + [f"CASH:{c}" for c in cash_keys], shares))
    # Drift = recorded (rounded) weight minus model weight, per symbol and cash, sorted by key.
    wr = np.zeros(p.n)
    wr[held] = list(weights.values())[: len(held)]
    model_w = np.where(p.wm > 0, p.wm, 0.0)
    either = np.flatnonzero((qty > 0) | (p.wm > 0))
    gaps = wr[either] - model_w[either]
    keep = np.abs(gaps) > 1e-12
    items = list(zip([str(x) for x in sym[either[keep]]], gaps[keep].tolist()))
    model_cash = {f"CASH:{a.base}": a.cash_target}
    for key in set(k for k in weights if k.startswith("CASH:")) | set(model_cash):
        gap = weights.get(key, 0.0) - model_cash.get(key, 0.0)
        if abs(gap) > 1e-12:
            items.append((key, gap))
    drift = {key: round(gap, 8) for key, gap in sorted(items)}
    return {
        "holdings": dict(zip(names, qty[held].tolist())),
        "cash": {c: round(float(v), minor_units(c)) for c, v in sorted(cash.items())},
        "weights": weights,
        "tracking_error": round(tracking_error(p, u, w), 8),
        "drift": drift,
        "max_drift": round(max((abs(x) for x in drift.values()), default=0.0), 8),
    }


def _reason(p: Prepared, u: Universe, s: RebalanceSettings, k: int, side: str, loss: float) -> str:
    a = p.account
    i = p.idx[k]
    gap = p.w0[k] - p.wm[k]
    if side == "sell":
        if p.excluded[k]:
            return f"sell: {a.exclusion_reason.get(int(i), 'excluded')}"
        if p.mode == Mode.TAX_LOSS_HARVEST and loss < 0:
            return f"harvest: realize loss {-loss:,.0f} {a.base}"
        for kind, lab, mask, cap in p.group_rows:
            if mask[k] and p.w0[mask].sum() > cap:
                return f"trim: {kind} cap {lab} {cap:.0%}"
        if p.wm[k] == 0:
            return "sell: not in model"
        if p.mode == Mode.CASH_RAISE:
            by = f" by {s.cash_raise_by}" if s.cash_raise_by else ""
            return f"sell: raise cash {s.cash_raise_base:,.0f} {a.base}{by}"
        if gap < 0.0005:
            return "sell: fund buys that lower tracking error" + (" (loss lot, no tax)" if loss < 0 else "")
        return f"trim: overweight vs model by {gap:.1%}"
    swapped = np.flatnonzero(p.substitute == k)
    if p.mode == Mode.TAX_LOSS_HARVEST and len(swapped):
        return f"buy: substitute for harvested {u.symbols[p.idx[swapped[0]]]} (keeps the exposure)"
    if p.wm[k] == 0:
        return f"buy: replacement exposure in {u.sector[i]}"
    if -gap < 0.0005:
        return "buy: lowers tracking error to the model"
    if p.mode == Mode.CASH_DEPLOY:
        return f"buy: deploy cash, underweight vs model by {-gap:.1%}"
    return f"buy: underweight vs model by {-gap:.1%}"


def build_record(
    p: Prepared,
    u: Universe,
    s: RebalanceSettings,
    r: Rounded,
    out: Outcome | None,
    status: str,
    reason: str,
    rung: str | None,
    t0: float,
    objective: float | None = None,
) -> dict[str, Any]:
    a = p.account
    sym = u.symbols[p.idx]
    trades: list[dict[str, Any]] = []
    est_tax = 0.0
    est_cost = 0.0
    for k in np.flatnonzero((r.sell_qty > 0) | (r.buy_qty > 0)).tolist():
        for side, q in (("sell", r.sell_qty[k]), ("buy", r.buy_qty[k])):
            if q <= 0:
                continue
            value = float(q * p.pb[k])
            cost = value * float(u.cost[p.idx[k]])
            est_cost += cost
            t: dict[str, Any] = {
                "symbol": str(sym[k]),
                "side": side,
                "quantity": float(q),
                "est_price": float(u.price[p.idx[k]]),
                "currency": str(u.currency[p.idx[k]]),
                "est_value_base": round(value, 2),
                "est_cost": round(cost, 2),
            }
            loss = 0.0
            if side == "sell":
                lots = []
                for j in np.flatnonzero((p.lot_pos == k) & (r.lot_sold > 0)):
                    gain = float(r.lot_sold[j] * p.lot_gain_unit[j])
                    tax = float(r.lot_sold[j] * p.lot_tax_unit[j])
                    est_tax += tax
                    loss += gain
                    lots.append(
                        {
                            "lot_id": int(a.lot_id[j]),
                            "quantity": float(r.lot_sold[j]),
                            "acquired": str(a.lot_acquired[j]),
                            "term": "long" if p.lot_long[j] else "short",
                            "gain": round(gain, 2),
                            "est_tax": round(tax, 2),
                        }
                    )
                t["lots"] = lots
                t["gain"] = round(loss, 2)
            t["reason"] = _reason(p, u, s, k, side, loss)
            trades.append(t)
    fx_trades = []
    for c, side, amt, rate in r.fx:
        fee = amt * rate * FX_COST
        est_cost += fee
        fx_trades.append(
            {
                "currency": c,
                "side": side,
                "amount": amt,
                "against": a.base,
                "rate": round(rate, 10),
                "base_amount": round(amt * rate, minor_units(a.base)),
                "est_cost": round(fee, 2),
                "reason": f"{'fund' if side == 'buy' else 'repatriate'} {c} trades",
            }
        )
    qty1 = p.qty0 + r.buy_qty - r.sell_qty
    cash1 = out.cash if out is not None else dict(a.cash)
    w1 = qty1 * p.pb / p.value
    traded = float(((r.buy_qty + r.sell_qty) * p.pb).sum())
    before = _side(p, u, p.w0, p.qty0, dict(a.cash))
    if not trades and not fx_trades and cash1 == a.cash:  # nothing changes: after is before
        after = {k: dict(v) if isinstance(v, dict) else v for k, v in before.items()}
    else:
        after = _side(p, u, w1, qty1, {c: v for c, v in cash1.items()})
    turnover = traded / p.value if p.value else 0.0
    cash_after = sum(v * u.fx_to[a.base][c] for c, v in cash1.items()) / p.value
    note = None
    if status == "ok":
        note = drift_note(p, u, s, r, rung, before, after, turnover, cash_after)
    return {
        "account": a.code,
        "account_id": a.id,
        "status": status,
        "reason": reason,
        "rung": rung,
        "mode": str(p.mode),
        "solve_ms": round((time.perf_counter() - t0) * 1000, 2),
        "base_currency": a.base,
        "value_base": round(p.value, 2),
        "objective": None if objective is None else float(objective),
        "trades": trades,
        "fx_trades": fx_trades,
        "before": before,
        "after": after,
        "est_tax": round(est_tax, 2),
        "est_cost": round(est_cost, 2),
        "turnover": round(turnover, 8),
        "drift_note": note,
        "effective_drift": {
            "before": effective_drift(p, s, p.w0, p.cash0),
            "after": effective_drift(p, s, w1, cash_after),
        },
        "limits": run_limits(s),
    }
