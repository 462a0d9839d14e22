"""The worker side of a bulk rebalance: a batch solved in order (a household's loss sales block
later buys in it), the per-process context built once, and a worker that dies with its run."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.context import Context
from engine.rebalance.household_solve import rebalance_household
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.styled import rebalance_styled

_CTX: Context | None = None


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 0.5


def die_with_parent(parent: int) -> None:
    """End this worker when the run's process ends, even by SIGKILL, so no solver is left
    orphaned: Linux's PR_SET_PDEATHSIG, elsewhere a thread that polls for the parent. (The
    signal follows the thread that forked the worker: run_bulk submits, and so forks, in its own
    thread and joins the pool before it returns.)"""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def init_worker(u: Universe, s: RebalanceSettings, parent: int) -> None:
    die_with_parent(parent)
    global _CTX
    _CTX = Context(u, s)


def run_batch(ctx: Context, batch: list[AccountInput]) -> list[dict[str, Any]]:
    """Solve a batch in order; a household's loss sales block later buys in that household."""
    out = []
    sold_loss: dict[int, dict[int, str]] = {}
    bought: dict[int, set[int]] = {}
    u = ctx.u
    sym_index = {str(s): i for i, s in enumerate(u.symbols)}
    grouped: set[int] = set()
    spent: dict[int, float] = {}  # tax of the household's accounts already solved (tax budgets)
    for a in batch:
        if ctx.s.households and a.group is not None:  # the household's accounts in one problem
            if a.household_id not in grouped:
                grouped.add(a.household_id)
                out.extend(rebalance_household(ctx, [b for b in batch if b.household_id == a.household_id]))
            continue
        extra = sold_loss.get(a.household_id)
        if extra:
            a.wash_blocked = {**a.wash_blocked, **extra}
        if bought.get(a.household_id):
            a.recent_buys = a.recent_buys | bought[a.household_id]
        rec = rebalance_styled(ctx, a, spent)
        out.append(rec)
        if rec["status"] != "ok":
            continue
        for t in rec["trades"]:
            g = int(u.wash_group[sym_index[t["symbol"]]])
            if t["side"] == "sell" and any(lot["gain"] < 0 for lot in t.get("lots", [])):
                sold_loss.setdefault(a.household_id, {})[g] = (
                    f"wash sale: {t['symbol']} sold at a loss in {a.code} in this run"
                )
            elif t["side"] == "buy":
                bought.setdefault(a.household_id, set()).add(g)
    return out


def pool_batch(batch: list[AccountInput]) -> list[dict[str, Any]]:
    assert _CTX is not None, "worker not initialised"
    return run_batch(_CTX, batch)


def dask_batch(
    ctx_parts: tuple[Universe, RebalanceSettings], batch: list[AccountInput]
) -> list[dict[str, Any]]:
    global _CTX
    u, s = ctx_parts
    if _CTX is None or _CTX.u is not u or _CTX.s != s:
        _CTX = Context(u, s)
    return run_batch(_CTX, batch)
