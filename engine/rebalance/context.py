"""Per-process state of a rebalance (universe, settings, per-base price vectors), without cvxpy:
read models (the Household dock's) build one on the desktop, where importing cvxpy costs ~0.85 s."""

from __future__ import annotations

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.check import SecurityFacts
from engine.rebalance.settings import RebalanceSettings


class Context:
    """Per-process state: the universe, settings, and per-base price vectors (built once)."""

    def __init__(self, u: Universe, s: RebalanceSettings) -> None:
        self.u = u
        self.s = s
        self._pb: dict[str, np.ndarray] = {}
        self.facts: dict[str, dict[int, SecurityFacts]] = {}  # base -> checker facts per security

    def pb(self, base: str) -> np.ndarray:
        if base not in self._pb:
            self._pb[base] = self.u.price_base(base)
        return self._pb[base]
