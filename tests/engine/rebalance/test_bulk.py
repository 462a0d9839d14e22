"""Bulk runs: persistence as results arrive, process pool and Dask agree, failures and cancel."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

import resources
from engine.demo.build import build_demo_book
from engine.rebalance import bulk, run_inputs
from engine.rebalance.bulk import CancelToken, run_bulk
from engine.rebalance.events import RebalanceProgress
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.store.database import Database
from workstation.cli.main import main

RECORD_KEYS = {
    "account", "status", "reason", "rung", "solve_ms", "trades", "fx_trades", "before", "after", "est_tax", "est_cost",
}  # fmt: skip
SIDE_KEYS = {"holdings", "cash", "weights", "tracking_error", "drift"}
PM = "pat.pm"  # the demo book's portfolio manager (rebalance.run)


def _proposals(db: Database, batch_id: str) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Proposal).where(Proposal.batch_id == batch_id)) or 0


def _signature(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        r["account"]: (r["status"], sorted((t["symbol"], t["side"], t["quantity"]) for t in r["trades"]))
        for r in records
    }


def test_inline_run_persists_every_record_with_the_documented_shape(book: Database, loaded: Any) -> None:
    _u, accounts = loaded
    ids = [a.id for a in accounts[:12]]
    events: list[RebalanceProgress] = []
    res = run_bulk(
        book, RebalanceSettings(), ids, executor="inline", batch_size=5, on_progress=events.append, user=PM
    )
    assert len(res.records) == 12 and _proposals(book, res.batch_id) == 12
    for r in res.records:
        assert set(r) >= RECORD_KEYS and set(r["before"]) >= SIDE_KEYS and set(r["after"]) >= SIDE_KEYS
        assert r["status"] in ("ok", "infeasible", "failed")
        for t in r["trades"]:
            assert {"symbol", "side", "quantity", "est_price", "currency", "reason"} <= set(t)
            assert t["side"] != "sell" or t["lots"]
        assert any(k.startswith("CASH:") for k in r["before"]["weights"])
        assert sum(r["before"]["weights"].values()) == pytest.approx(1.0, abs=1e-6)
    assert [e.done for e in events] == sorted(e.done for e in events) and events[-1].done == 12
    assert events[-1].eta_s == 0.0
    with book.session() as s:
        row = s.scalars(select(Proposal).where(Proposal.batch_id == res.batch_id)).first()
        assert row is not None and row.payload["account"] and row.status == row.payload["status"]
    assert res.summary["accounts"] == 12


def test_process_pool_matches_inline(book: Database, loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also with accounts read in several chunks while the pool solves (whole households per chunk)."""
    _u, accounts = loaded
    ids = [a.id for a in accounts[12:24]]
    s = RebalanceSettings(skip_in_band=False, time_limit_s=30.0)  # a loaded machine must not change rungs
    a = run_bulk(book, s, ids, executor="inline", save=False)
    monkeypatch.setattr(bulk, "LOAD_CHUNK", 5)
    assert len(run_inputs.id_chunks(book, ids, 5)) >= 2
    b = run_bulk(book, s, ids, executor="process", workers=2, batch_size=4, save=False)
    assert _signature(a.records) == _signature(b.records)

    def same(r: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.items() if k != "solve_ms"}

    assert {r["account"]: same(r) for r in a.records} == {r["account"]: same(r) for r in b.records}
    assert b.summary["accounts"] == len(ids) and b.summary["not_run"] == 0


def test_dask_local_cluster_matches_inline(book: Database, loaded: Any) -> None:
    distributed = pytest.importorskip("distributed")
    _u, accounts = loaded
    ids = [a.id for a in accounts[24:28]]
    s = RebalanceSettings(skip_in_band=False, time_limit_s=30.0)
    a = run_bulk(book, s, ids, executor="inline", save=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cl:
        address = cl.scheduler_address.replace("tcp://", "dask://")
        b = run_bulk(book, s, ids, executor=address, batch_size=2, user=PM)
    assert _signature(a.records) == _signature(b.records)
    assert _proposals(book, b.batch_id) == len(ids)


def test_one_failed_account_never_fails_the_batch(
    book: Database, loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    u, accounts = loaded
    chosen = accounts[30:36]
    broken = replace(chosen[2], lot_sec=np.full(len(chosen[2].lot_sec), 10**6))
    monkeypatch.setattr(
        bulk, "load_run", lambda db, ids, settings=None: (u, [*chosen[:2], broken, *chosen[3:]])
    )
    res = run_bulk(book, RebalanceSettings(), None, executor="inline", user=PM)
    status = {r["account"]: r for r in res.records}
    assert status[broken.code]["status"] == "failed" and "IndexError" in status[broken.code]["reason"]
    assert all(r["status"] != "failed" for c, r in status.items() if c != broken.code)
    assert _proposals(book, res.batch_id) == 6


def test_cancel_stops_after_the_batches_already_done(book: Database, loaded: Any) -> None:
    _u, accounts = loaded
    ids = [a.id for a in accounts[:20]]
    token = CancelToken()
    res = run_bulk(
        book,
        RebalanceSettings(),
        ids,
        executor="inline",
        batch_size=4,
        cancel=token,
        on_progress=lambda e: token.cancel(),
        user=PM,
    )
    # The first batch (4 accounts, completed to a whole household) finishes; nothing after it runs.
    assert res.cancelled and 4 <= len(res.records) < 8 and res.not_run == 20 - len(res.records)
    assert _proposals(book, res.batch_id) == len(res.records)


def test_cli_rebalance_json_and_drift(
    book: Database, loaded: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _u, accounts = loaded
    codes = ",".join(a.code for a in accounts[:3])
    out = tmp_path / "p.json"
    url = str(book.url)
    rc = main(
        [
            "--db",
            url,
            "rebalance",
            "--accounts",
            codes,
            "--executor",
            "inline",
            "--json",
            str(out),
            "--no-skip",
            "--user",
            PM,
        ]
    )
    assert rc == 0
    records = json.loads(out.read_text())
    assert [r["account"] for r in records] == sorted(codes.split(","))
    assert all(set(r) >= RECORD_KEYS for r in records)
    text = capsys.readouterr().out
    assert "3 accounts" in text and "rungs:" in text
    assert main(["--db", url, "rebalance", "drift", "--accounts", codes, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["accounts"]) == 3
    for acc in doc["accounts"]:
        for sym, d in acc["drift"].items():
            assert d == pytest.approx(acc["current_weights"][sym] - acc["model_weights"][sym], abs=1e-7)
        assert sum(acc["current_weights"].values()) == pytest.approx(1.0, abs=1e-6)
        assert sum(acc["model_weights"].values()) == pytest.approx(1.0, abs=1e-6)
    capsys.readouterr()
    assert main(["--db", url, "rebalance", "--accounts", "NOPE"]) == 2


def test_persistence_on_both_backends(database: Database) -> None:
    build_demo_book(database, resources.path("reference"), accounts=3, seed=3, today=date(2026, 11, 22))
    res = run_bulk(database, RebalanceSettings(skip_in_band=False), None, executor="inline", user=PM)
    assert len(res.records) == 3 and _proposals(database, res.batch_id) == 3
    assert all(r["status"] in ("ok", "infeasible") for r in res.records)
