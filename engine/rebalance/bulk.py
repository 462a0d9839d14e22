"""Bulk rebalance: many accounts in batches on a process pool or a Dask cluster, streamed back.

Accounts are batched (about 100 per task) without splitting a household, so a harvest in one
account blocks the repurchase in the household's other accounts within the same run. Each
worker builds the universe context once; each account's QP goes straight to Clarabel (qp.py).
On a local process pool accounts are read in chunks while earlier batches solve. Results are persisted to
`proposals` as batches arrive; progress events carry done, failed and the time left; a
`CancelToken` stops the run between batches (pending batches are cancelled, finished ones kept).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import select

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import WorkstationError
from engine.events import EventBus
from engine.rebalance import equivalents
from engine.rebalance.book import (
    AccountInput,
    Universe,
    load_accounts,
)
from engine.rebalance.bulk_worker import dask_batch, init_worker, pool_batch, run_batch
from engine.rebalance.context import Context
from engine.rebalance.drift import book_drift
from engine.rebalance.events import RebalanceProgress
from engine.rebalance.exceptions import breaches, queue
from engine.rebalance.harvest import attach_harvest_history, substitute_groups
from engine.rebalance.households import attach_groups
from engine.rebalance.run_inputs import LOAD_CHUNK, id_chunks, load_book_universe, load_run
from engine.rebalance.settings import Mode, RebalanceSettings, Style
from engine.rebalance.tables import Proposal
from engine.rebalance.tax_year import attach_tax_year
from engine.state.proposals import PROPOSALS
from engine.store.base import table_of
from engine.store.database import Database

log = logging.getLogger(__name__)
BATCH_SIZE = 100


class CancelToken:
    """Set from any thread to stop a bulk run after the batches already finished."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class BulkResult:
    batch_id: str
    records: list[dict[str, Any]]
    seconds: float
    load_seconds: float
    cancelled: bool = False
    not_run: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


# ---- driver side -------------------------------------------------------------------------


def batches(accounts: list[AccountInput], size: int = BATCH_SIZE) -> list[list[AccountInput]]:
    """Chunks of about `size` accounts; a household is never split across chunks."""
    out: list[list[AccountInput]] = []
    cur: list[AccountInput] = []
    for i, a in enumerate(accounts):
        cur.append(a)
        nxt = accounts[i + 1] if i + 1 < len(accounts) else None
        if len(cur) >= size and (nxt is None or nxt.household_id != a.household_id):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def persist(database: Database, batch_id: str, records: list[dict[str, Any]], user: str, mode: str) -> None:
    """Store a batch of proposals created by `user`, who needs rebalance.run (four-eyes rests on the
    creator), in their first status (ok, infeasible, failed), each with its `proposal.create` audit
    entry in the same transaction (engine.state.proposals)."""
    rows = [
        {
            "batch_id": batch_id,
            "account_id": r["account_id"],
            "mode": mode,
            "status": r["status"],
            "reason": r["reason"],
            "created_by": user,
            "version": 1,
            "payload": r,
        }
        for r in records
    ]
    if rows:
        with database.transaction() as session:
            require(session, user, Permission.REBALANCE_RUN)
            ids = PROPOSALS.insert_many(session, table_of(Proposal), rows, actor=user, detail=_created)
            over = [r for r, rec in zip(ids, records) if breaches(rec)]  # the exception queue
            if over:
                queue(session, list(session.scalars(select(Proposal).where(Proposal.id.in_(over)))), user)


def _created(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return {"batch": row["batch_id"], "account_id": row["account_id"], "mode": row["mode"]}


def summarize(records: list[dict[str, Any]], seconds: float, fx_usd: dict[str, float]) -> dict[str, Any]:
    status = {k: sum(r["status"] == k for r in records) for k in ("ok", "infeasible", "failed")}
    rungs: dict[str, int] = {}
    for r in records:
        rungs[str(r.get("rung"))] = rungs.get(str(r.get("rung")), 0) + 1
    ms = np.array([r["solve_ms"] for r in records]) if records else np.zeros(1)
    ok = [r for r in records if r["status"] == "ok"]
    return {
        "accounts": len(records),
        **status,
        "trades": sum(len(r["trades"]) for r in ok),
        "fx_trades": sum(len(r["fx_trades"]) for r in ok),
        "mean_turnover": float(np.mean([r["turnover"] for r in ok])) if ok else 0.0,
        "est_tax_usd": round(
            sum(r["est_tax"] * fx_usd.get(r.get("base_currency", "USD"), 1.0) for r in ok), 2
        ),
        "est_cost_usd": round(
            sum(r["est_cost"] * fx_usd.get(r.get("base_currency", "USD"), 1.0) for r in ok), 2
        ),
        "rungs": dict(sorted(rungs.items())),
        "seconds": round(seconds, 3),
        "ms_p50": float(np.percentile(ms, 50)),
        "ms_p95": float(np.percentile(ms, 95)),
        "ms_p99": float(np.percentile(ms, 99)),
        "ms_max": float(ms.max()),
    }


def run_bulk(
    database: Database,
    settings: RebalanceSettings,
    account_ids: list[int] | None = None,
    *,
    drifted_only: bool = False,
    executor: str = "process",
    workers: int = 2,
    batch_size: int = BATCH_SIZE,
    bus: EventBus | None = None,
    on_progress: Callable[[RebalanceProgress], None] | None = None,
    on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    cancel: CancelToken | None = None,
    user: str | None = None,
    save: bool = True,
) -> BulkResult:
    """Rebalance the accounts; `executor` is "inline", "process" or "dask://host:port".

    With `save`, proposals are recorded as created by `user`, a signed-in user with rebalance.run
    (checked before solving and again as each batch is recorded); without it nothing is written.
    """
    if save:
        if not user:
            raise WorkstationError("a rebalance that saves proposals needs the signed-in user it runs for")
        with database.session() as session:
            require(session, user, Permission.REBALANCE_RUN)
    t0 = time.perf_counter()
    batch_id = uuid.uuid4().hex
    streamed = executor == "process" and workers > 1 and not drifted_only
    if streamed:  # read accounts chunk by chunk while the pool solves (see LOAD_CHUNK)
        u = load_book_universe(database, settings)
        id_groups = id_chunks(database, account_ids, LOAD_CHUNK)
        accounts: list[AccountInput] = []
        total = sum(map(len, id_groups))
    else:
        u, accounts = load_run(database, account_ids, settings)
        if drifted_only and accounts:
            keep = set(book_drift(u, accounts).drifted())
            accounts = [a for a in accounts if a.id in keep]
        total = len(accounts)
    if settings.mode == Mode.TAX_LOSS_HARVEST:  # a bad substitute list stops the run before any solve
        substitute_groups(u, settings.substitutes_file)
    load_s = time.perf_counter() - t0
    chunks = batches(accounts, batch_size)
    records: list[dict[str, Any]] = []
    counts = {"ok": 0, "infeasible": 0, "failed": 0}
    cancel = cancel or CancelToken()
    t_solve = time.perf_counter()

    def arrived(recs: list[dict[str, Any]]) -> None:
        for r in recs:  # the proposal says which style made it (the mode is its own column)
            r.setdefault("style", settings.style.value)
            if settings.style == Style.MINMAX:
                r.setdefault("minmax_to", settings.minmax_to)
        if save:
            persist(database, batch_id, recs, str(user), str(settings.mode))
        records.extend(recs)
        for r in recs:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        done = len(records)
        elapsed = time.perf_counter() - t_solve
        eta = elapsed / done * (total - done) if done else None
        ev = RebalanceProgress(
            batch_id=batch_id, total=total, done=done, ok=counts["ok"], infeasible=counts["infeasible"],
            failed=counts["failed"], elapsed_s=elapsed, eta_s=eta,
        )  # fmt: skip
        if on_records:
            on_records(recs)
        if on_progress:
            on_progress(ev)
        if bus:
            bus.publish(ev)

    cancelled = False
    if executor == "inline" or (executor == "process" and workers <= 1):
        ctx = Context(u, settings)
        for chunk in chunks:
            if cancel.cancelled:
                cancelled = True
                break
            arrived(run_batch(ctx, chunk))
    elif executor == "process":
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        with cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context(method),
            initializer=init_worker,
            initargs=(u, settings, os.getpid()),
        ) as pool:
            futures = {pool.submit(pool_batch, c): c for c in chunks}
            if streamed:
                for ids in id_groups:
                    if cancel.cancelled:
                        break
                    with database.session() as session:
                        part = load_accounts(session, u, ids)
                        attach_harvest_history(session, u, part)
                        attach_tax_year(session, u, part)
                        equivalents.assign(u, part)
                        if settings.households:
                            attach_groups(session, u, part)
                    accounts.extend(part)
                    for c in batches(part, batch_size):
                        futures[pool.submit(pool_batch, c)] = c
                load_s = time.perf_counter() - t0  # the last chunk read (overlapping the solves)
            cancelled = _drain(cf.as_completed(futures), futures, arrived, cancel, settings)
    elif executor.startswith("dask://") or executor.startswith("tcp://"):
        cancelled = _run_dask(executor, u, settings, chunks, arrived, cancel)
    else:
        from engine.errors import ConfigurationError

        raise ConfigurationError(f"unknown executor {executor!r}: use inline, process or dask://host:port")
    seconds = time.perf_counter() - t0
    fx_usd = {c: r for c, r in u.fx_to.get("USD", {}).items()}
    done_ids = {r["account_id"] for r in records}
    result = BulkResult(
        batch_id, records, seconds, load_s, cancelled, total - sum(a.id in done_ids for a in accounts)
    )
    result.summary = summarize(records, seconds, fx_usd) | {
        "batch_id": batch_id,
        "cancelled": cancelled,
        "not_run": result.not_run,
        "load_seconds": round(load_s, 3),
    }
    return result


def _drain(
    completed: Iterable[Any],
    futures: dict[Any, list[AccountInput]],
    arrived: Callable[[list[dict[str, Any]]], None],
    cancel: CancelToken,
    settings: RebalanceSettings,
) -> bool:
    for fut in completed:
        if cancel.cancelled:
            for f in futures:
                f.cancel()
            return True
        try:
            recs = fut.result()
        except Exception as exc:  # a lost worker fails its batch's accounts, not the run
            recs = [_failed(a, exc, settings) for a in futures[fut]]
        arrived(recs)
    return False


def _failed(a: AccountInput, exc: BaseException, settings: RebalanceSettings) -> dict[str, Any]:
    return {
        "account": a.code,
        "account_id": a.id,
        "status": "failed",
        "reason": f"{type(exc).__name__}: {exc}",
        "rung": None,
        "solve_ms": 0.0,
        "mode": str(settings.mode),
        "trades": [],
        "fx_trades": [],
        "est_tax": 0.0,
        "est_cost": 0.0,
        "turnover": 0.0,
    }


def _run_dask(
    address: str,
    u: Universe,
    settings: RebalanceSettings,
    chunks: list[list[AccountInput]],
    arrived: Callable[[list[dict[str, Any]]], None],
    cancel: CancelToken,
) -> bool:
    from distributed import Client, as_completed

    addr = "tcp://" + address.split("://", 1)[1]
    with Client(addr) as client:
        parts = client.scatter((u, settings), broadcast=True)
        futures = {client.submit(dask_batch, parts, c, pure=False): c for c in chunks}
        return _drain(as_completed(list(futures)), futures, arrived, cancel, settings)


def with_mode(settings: RebalanceSettings, **changes: Any) -> RebalanceSettings:
    return replace(settings, **changes)
