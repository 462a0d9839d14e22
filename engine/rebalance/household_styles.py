"""The improvement threshold for a household solved together, measured on the household.

Each account of a household solve is held to the household's target, not its own model, so its
own tracking error may rise while the household's falls. `--min-improvement F` therefore
compares the household's aggregate tracking error before and after the rounded proposals
(`te_before`, `te_after` of the household figures): below F every account of the household gets
no trades (rung `below-threshold`, the reason giving both figures), unless an account must sell
an excluded holding (a forced sale is never skipped), as for accounts solved alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.rebalance.prepare import Prepared
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.styled import THRESHOLD_MODES, skipped_record


def below_threshold(
    s: RebalanceSettings, preps: list[Prepared], recs: list[dict[str, Any]], figures: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """The household's records with no trades when its tracking error improves by less than the
    threshold; None when the proposals stand."""
    if s.min_improvement <= 0 or s.mode not in THRESHOLD_MODES:
        return None
    if not any(r["trades"] for r in recs):
        return None
    for p in preps:
        a = p.account
        if not a.keep_legacy and np.isin(a.lot_sec, a.excluded).any():
            return None  # a forced sale is never skipped
    te0, te1 = float(figures["te_before"]), float(figures["te_after"])
    gain = te0 - te1
    if gain >= s.min_improvement:
        return None
    why = (
        f"skipped: the household's tracking error improves {gain:.4%} ({te0:.4%} -> {te1:.4%}), "
        f"less than the threshold {s.min_improvement:.4%}"
    )
    return [skipped_record(r, why, gain, s.min_improvement) for r in recs]
