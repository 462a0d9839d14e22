"""Styles of the one optimiser on the demo book: min/max, tactical, the improvement threshold.

Every proposal is a real Clarabel solve, rounding and exact check (`run_batch`); the invariants
are checked from the records' before/after sides and the account inputs, not from the style code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_batch
from engine.rebalance.context import Context
from engine.rebalance.settings import RebalanceSettings, Style

TOL = 1e-6


def _run(loaded: Any, **kw: Any) -> dict[str, dict[str, Any]]:
    u, accounts = loaded
    recs = run_batch(Context(u, RebalanceSettings(**kw)), [replace(a) for a in accounts])
    return {r["account"]: r for r in recs}


@pytest.fixture(scope="module")
def standard(loaded: Any) -> dict[str, dict[str, Any]]:
    return _run(loaded)


@pytest.fixture(scope="module")
def minmax_edge(loaded: Any) -> dict[str, dict[str, Any]]:
    return _run(loaded, style=Style.MINMAX)


@pytest.fixture(scope="module")
def minmax_target(loaded: Any) -> dict[str, dict[str, Any]]:
    return _run(loaded, style=Style.MINMAX, minmax_to="target")


def _by_code(loaded: Any) -> dict[str, AccountInput]:
    return {a.code: a for a in loaded[1]}


def _lot_weight(u: Universe, a: AccountInput, rec: dict[str, Any], sym: str) -> float:
    i = int(np.flatnonzero(u.symbols == sym)[0])
    return float(u.lot_size[i] * u.price[i] * u.multiplier[i] * u.fx_to[a.base][str(u.currency[i])]) / float(
        rec["value_base"]
    )


def _forced(u: Universe, a: AccountInput, rec: dict[str, Any]) -> set[str]:
    """Symbols a hard rule makes trade: excluded holdings, holdings in an issuer (single names) or
    sector over its cap before the trades (the firm defaults: issuer 10%, sector 50%)."""
    held = rec["before"]["weights"]
    out = {str(u.symbols[i]) for i in a.excluded if str(u.symbols[i]) in held}
    index = {str(s): i for i, s in enumerate(u.symbols)}
    by_issuer: dict[str, float] = {}
    by_sector: dict[str, float] = {}
    for sym, w in held.items():
        if sym.startswith("CASH:"):
            continue
        i = index[sym]
        if u.asset_class[i] != "etf":
            by_issuer[str(u.issuer[i])] = by_issuer.get(str(u.issuer[i]), 0.0) + w
        by_sector[str(u.sector[i])] = by_sector.get(str(u.sector[i]), 0.0) + w
    for sym in held:
        if sym.startswith("CASH:"):
            continue
        i = index[sym]
        if (u.asset_class[i] != "etf" and by_issuer[str(u.issuer[i])] > 0.10 - 1e-4) or by_sector[
            str(u.sector[i])
        ] > 0.50 - 1e-4:
            out.add(sym)
    return out


def _cash(rec: dict[str, Any], side: str) -> float:
    return sum(w for k, w in rec[side]["weights"].items() if k.startswith("CASH:"))


def test_minmax_trades_only_positions_outside_their_band(
    loaded: Any, minmax_edge: Any, standard: Any
) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    traded_accounts = 0
    for code, rec in minmax_edge.items():
        assert rec["status"] == "ok", rec["reason"]
        a = by[code]
        drift0 = rec["before"]["drift"]
        forced = _forced(u, a, rec)
        cash_short = _cash(rec, "before") < a.cash_floor
        traded_accounts += bool(rec["trades"])
        for t in rec["trades"]:
            gap = drift0.get(t["symbol"], 0.0)
            outside = abs(gap) > a.band - TOL
            funds_cash = cash_short and t["side"] == "sell" and gap > 0
            assert outside or t["symbol"] in forced or funds_cash, (code, t["symbol"], gap, a.band)
            if t["symbol"] in forced or funds_cash:
                continue
            # To the band edge, never past it by more than one board lot (rounding).
            after = rec["after"]["drift"].get(t["symbol"], -float(np.sign(gap)) * 0.0)
            lot = _lot_weight(u, a, rec, t["symbol"]) + 1e-4
            if t["side"] == "buy":
                assert gap < 0 and after <= -a.band + lot, (code, t["symbol"], gap, after)
            else:
                assert gap > 0 and after >= a.band - lot, (code, t["symbol"], gap, after)
        if rec["after"]["tracking_error"] > rec["before"]["tracking_error"] + 1e-9:
            assert rec["drift_note"], code  # worse tracking error always names why
    assert traded_accounts >= 20
    # Fewer trades than a full rebalance of the same accounts: in-band positions stay.
    n_mm = sum(len(r["trades"]) for r in minmax_edge.values())
    assert n_mm < sum(len(r["trades"]) for r in standard.values()) / 3


def test_minmax_to_target_moves_further_than_to_the_edge(
    loaded: Any, minmax_target: Any, minmax_edge: Any
) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    closer = 0
    for code, rec in minmax_target.items():
        assert rec["status"] == "ok", rec["reason"]
        a = by[code]
        forced = _forced(u, a, rec)
        for t in rec["trades"]:
            gap = rec["before"]["drift"].get(t["symbol"], 0.0)
            if t["symbol"] in forced or abs(gap) <= a.band:
                continue
            after = rec["after"]["drift"].get(t["symbol"], 0.0)
            lot = _lot_weight(u, a, rec, t["symbol"]) + 1e-4
            assert abs(after) <= abs(gap) + 1e-9  # toward target, and not past it by more than a lot
            assert after * np.sign(gap) >= -lot, (code, t["symbol"], gap, after)
            edge_rec = minmax_edge[code]
            edge_after = edge_rec["after"]["drift"].get(t["symbol"], gap)
            closer += abs(after) < abs(edge_after) - 1e-6
    assert closer >= 10


def test_tactical_leaves_every_other_position_unchanged(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    recs = _run(loaded, style=Style.TACTICAL, sleeve=("fixed_income",))
    traded = 0
    for code, rec in recs.items():
        a = by[code]
        if rec["status"] != "ok":
            assert "cash floor" in rec["reason"]  # cash below its floor and nothing in the sleeve to sell
            assert _cash(rec, "before") < a.cash_floor
            continue
        forced = _forced(u, a, rec)
        h0, h1 = rec["before"]["holdings"], rec["after"]["holdings"]
        for sym in set(h0) | set(h1):
            i = int(np.flatnonzero(u.symbols == sym)[0])
            if u.asset_class[i] != "fixed_income" and sym not in forced:
                assert h0.get(sym, 0.0) == h1.get(sym, 0.0), (code, sym)
        for t in rec["trades"]:
            i = int(np.flatnonzero(u.symbols == t["symbol"])[0])
            traded += u.asset_class[i] == "fixed_income"
            if u.asset_class[i] != "fixed_income":
                assert t["side"] == "sell" and t["symbol"] in forced
    assert traded >= 20


def test_accounts_improving_less_than_the_threshold_are_skipped(loaded: Any, standard: Any) -> None:
    gains = {
        c: r["before"]["tracking_error"] - r["after"]["tracking_error"]
        for c, r in standard.items()
        if r["trades"]
    }
    threshold = float(np.median(list(gains.values())))
    recs = _run(loaded, min_improvement=threshold)
    by = _by_code(loaded)
    skipped = 0
    for code, rec in recs.items():
        std = standard[code]
        a = by[code]
        assert rec["status"] == "ok", rec["reason"]
        forced = not a.keep_legacy and bool(np.isin(a.lot_sec, a.excluded).any())
        if code in gains and gains[code] < threshold and not forced:
            skipped += 1
            assert rec["rung"] == "below-threshold" and rec["trades"] == [] and rec["turnover"] == 0.0
            assert rec["reason"].startswith("skipped: tracking error improves")
            assert rec["after"] == rec["before"]
            assert rec["skipped"]["te_improvement"] == pytest.approx(gains[code], abs=1e-8)
        if rec["trades"]:  # every proposal kept improves by the threshold, or must sell
            te_gain = rec["before"]["tracking_error"] - rec["after"]["tracking_error"]
            assert te_gain >= threshold or forced, code
        elif rec["rung"] != "below-threshold":
            assert not std["trades"] or std["rung"] == rec["rung"]
    assert skipped >= 3
