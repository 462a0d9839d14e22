"""Seven model portfolios for the demo book, built from the demo universe (fixed, not seeded).

Weights are fractions rounded to 6 decimals that sum to exactly 1; one model is a model of
models (sleeves of two others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MODEL_SEED = 7


@dataclass(frozen=True)
class DemoModel:
    code: str
    name: str
    description: str
    components: tuple[tuple[str | None, str | None, float], ...]  # (symbol, sub_model, weight)


def _weights(n: int, rng: np.random.Generator, cap: float = 0.04) -> np.ndarray:
    """Cap-weighted-looking weights: lognormal, capped, normalised, 6 decimals, exact sum 1."""
    w = np.exp(rng.normal(0, 0.8, n))
    w /= w.sum()
    for _ in range(20):
        over = w > cap
        if not over.any():
            break
        excess = (w[over] - cap).sum()
        w[over] = cap
        w[~over] += excess * w[~over] / w[~over].sum()
    return _exact(w)


def _exact(w: np.ndarray) -> np.ndarray:
    w = np.round(w, 6)
    w[int(np.argmax(w))] += round(1.0 - float(w.sum()), 6)
    return np.round(w, 6)


def _pick(df: pd.DataFrame, n: int, rng: np.random.Generator) -> list[str]:
    return list(df["symbol"].iloc[np.sort(rng.choice(len(df), size=min(n, len(df)), replace=False))])


def build_models(universe: pd.DataFrame) -> list[DemoModel]:
    rng = np.random.default_rng(MODEL_SEED)
    eq = universe[universe["asset_class"] == "equity"]
    us = eq[eq["country"] == "US"]
    non_us = eq[eq["country"] != "US"]
    clean = eq[(eq["esg_flags"].str.len() == 0) & (eq["esg_score"] >= 55)]
    income = eq[eq["sector"].isin(["Utilities", "Consumer Staples", "Financials", "Real Estate", "Energy"])]
    adrs = universe[universe["asset_class"] == "adr"]
    bonds = universe[universe["asset_class"] == "fixed_income"]
    bond_etfs = universe[(universe["asset_class"] == "etf") & (universe["sector"] == "Fixed Income")]
    eq_etfs = universe[(universe["asset_class"] == "etf") & (universe["sector"] != "Fixed Income")]

    def plain(code: str, name: str, desc: str, symbols: list[str], cap: float = 0.04) -> DemoModel:
        w = _weights(len(symbols), rng, cap)
        return DemoModel(code, name, desc, tuple((s, None, float(x)) for s, x in zip(symbols, w)))

    uscore = plain("USCORE", "US Core Equity", "Large and mid cap US equities.", _pick(us, 100, rng))
    glob = plain(
        "GLOBAL",
        "Global Equity",
        "Developed-market equities across 11 exchanges.",
        _pick(us, 55, rng) + _pick(non_us, 85, rng),
        cap=0.03,
    )
    esg = plain(
        "ESGGLOBAL",
        "ESG Global Leaders",
        "Global equities with ESG score of at least 55 and no fossil fuel, tobacco, weapons, gambling, "
        "alcohol or nuclear involvement.",
        _pick(clean, 110, rng),
        cap=0.035,
    )
    div = plain(
        "DIVINC",
        "Dividend Income",
        "Income sectors worldwide, with ADRs for foreign names.",
        _pick(income, 70, rng) + _pick(adrs, 10, rng),
    )
    intl = plain(
        "INTLDEV", "International Developed", "Non-US developed-market equities.", _pick(non_us, 110, rng)
    )
    bal_eq = _pick(eq, 70, rng)
    bal_fi = list(bonds["symbol"])
    bal_etf = _pick(bond_etfs, 3, rng) + _pick(eq_etfs, 2, rng)
    w = np.concatenate(
        [
            _weights(len(bal_eq), rng, 0.05) * 0.55,
            _weights(len(bal_fi), rng, 0.2) * 0.35,
            _weights(len(bal_etf), rng, 0.5) * 0.10,
        ]
    )
    bal = DemoModel(
        "BAL6040",
        "Balanced 60/40",
        "55% global equities, 35% US corporate bonds, 10% funds.",
        tuple((s, None, float(x)) for s, x in zip(bal_eq + bal_fi + bal_etf, _exact(w))),
    )
    growth = DemoModel(
        "GROWTH",
        "Growth Allocation",
        "A model of models: 70% Global Equity and 30% Balanced 60/40 sleeves.",
        ((None, "GLOBAL", 0.7), (None, "BAL6040", 0.3)),
    )
    return [uscore, glob, esg, div, intl, bal, growth]


def flatten(models: list[DemoModel]) -> dict[str, dict[str, float]]:
    """Each model's look-through weights by symbol (sleeves multiplied out)."""
    by_code = {m.code: m for m in models}

    def walk(code: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for sym, sub, w in by_code[code].components:
            if sym is not None:
                out[sym] = out.get(sym, 0.0) + w
            else:
                assert sub is not None
                for s, x in walk(sub).items():
                    out[s] = out.get(s, 0.0) + w * x
        return out

    return {m.code: walk(m.code) for m in models}
