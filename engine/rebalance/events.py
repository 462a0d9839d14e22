"""Events a bulk rebalance publishes while it runs."""

from __future__ import annotations

from dataclasses import dataclass

from engine.events import Event


@dataclass(frozen=True, kw_only=True)
class RebalanceProgress(Event):
    """Accounts finished so far in a bulk run, and the estimated time left (seconds)."""

    batch_id: str
    total: int
    done: int
    ok: int
    infeasible: int
    failed: int
    elapsed_s: float
    eta_s: float | None
