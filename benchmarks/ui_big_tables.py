"""Benchmark: the order blotter with 20,000 orders and the approval queue with thousands of cases.

On a copy of a 10,000-account demo book (default /tmp/books/demo10k-h0.db), a child process puts
two sell orders per account on the book through `OrderManager.create` (the real compliance check,
in chunks), with a soft `order_notional_max` rule of 0 assigned to two models so every order of
those accounts is flagged and waits in pending_approval with a case in the queue. Then, offscreen,
it opens the main window as tara.trader (trader workspace: order blotter) and as cora.compliance
(compliance workspace: approval queue) and measures, with a 20 ms GUI heartbeat: time until the
table shows every row, GUI stalls over 100 ms (count, worst, GUI-thread CPU inside), then another
desk (a child process on its own connection) cancels 100 orders / approves 100 cases and the
table takes them (rows changed, no whole reload); peak RSS and the load average.

Usage: .venv/bin/python benchmarks/ui_big_tables.py [--src BOOK] [--dir /tmp/bigtables]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RULE = "BIGTABLES_FLAG"
FLAGGED_MODELS = ("USCORE", "DIVINC")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def seed(url: str, chunk: int) -> dict[str, Any]:
    """Two sell orders per account through the OMS with its real controls; the flag rule first."""
    from sqlalchemy import select

    from engine.compliance.rules import save_rule
    from engine.compose import build_order_manager
    from engine.oms.drafts import OrderDraft
    from engine.store.accounts import Account
    from engine.store.positions import TaxLot
    from engine.store.reference import Security
    from workstation.compose import open_store

    database = open_store(url)
    with database.transaction() as s:
        save_rule(
            s,
            "cora.compliance",
            RULE,
            "order_notional_max",
            "soft",
            {"max_notional": 0.0, "currency": "USD"},
            date(2000, 1, 1),
            "benchmark: flag every order of two models for review",
            assign=[("model", m) for m in FLAGGED_MODELS],
        )
        held = s.execute(
            select(Account.code, Security.symbol)
            .join(TaxLot, TaxLot.account_id == Account.id)
            .join(Security, Security.id == TaxLot.security_id)
            .where(TaxLot.quantity >= 2)
            .group_by(Account.code, Security.symbol)
            .order_by(Account.code, Security.symbol)
        ).all()
    picks: dict[str, list[str]] = {}
    for code, sym in held:
        if len(picks.setdefault(code, [])) < 2:
            picks[code].append(sym)
    drafts = [OrderDraft(code, sym, "sell", Decimal(1)) for code, syms in picks.items() for sym in syms]
    oms = build_order_manager(database)
    c0, w0 = time.process_time(), time.perf_counter()
    ids: list[int] = []
    for i in range(0, len(drafts), chunk):
        ids += oms.create(drafts[i : i + chunk], "tara.trader")
    return {
        "orders": len(ids),
        "accounts": len(picks),
        "cpu_s": time.process_time() - c0,
        "wall_s": time.perf_counter() - w0,
        "ids": ids,
    }


def other_desk(url: str, what: str, n: int) -> dict[str, Any]:
    """Another desk, on its own connection: cancels `n` new orders or approves `n` pending cases."""
    from sqlalchemy import select

    from engine.compliance import approvals
    from engine.compliance.tables import ApprovalCase
    from engine.compose import build_order_manager
    from engine.oms.tables import Order
    from workstation.compose import open_store

    database = open_store(url)
    done: list[int] = []
    if what == "orders":
        oms = build_order_manager(database)
        with database.session() as s:
            ids = list(
                s.scalars(select(Order.id).where(Order.status == "released").order_by(Order.id).limit(n))
            )
        for oid in ids:
            oms.cancel(oid, "tara.trader")
            done.append(oid)
    else:
        with database.session() as s:
            cases = list(
                s.scalars(
                    select(ApprovalCase.id)
                    .where(ApprovalCase.state == approvals.PENDING)
                    .order_by(ApprovalCase.id)
                    .limit(n)
                )
            )
        for cid in cases:
            with database.transaction() as s:
                approvals.decide(s, "cole.compliance", cid, "approve", "risk_accepted", "benchmark")
            done.append(cid)
    return {"ids": done}


def measure(url: str, who: str, workspace: str, dock: str, n_change: int, expect: int) -> dict[str, Any]:
    """Open the window as `who` in `workspace`; time `dock`'s table to every row; another desk's change."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from ui_bulk_rebalance import Heartbeat, StallSampler, run_until

    tmp = Path(url.removeprefix("sqlite:///")).parent / f"qt-{who}"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp))
    app = QApplication.instance() or QApplication([])
    from engine.views.users import desk_users
    from ui.desk import Desk
    from ui.main_window import MainWindow
    from ui.settings import UserSettings
    from ui.theme import apply_theme
    from workstation.compose import open_store

    apply_theme(app, "light")
    t0, c0 = time.perf_counter(), time.process_time()
    database = open_store(url)
    user = next(u for u in desk_users(database) if u.username == who)
    desk = Desk(database, user)
    window = MainWindow(desk, UserSettings(user.username), restore=False)
    window.resize(1600, 960)
    window.reset_workspace(workspace)
    window.show()
    panel: Any = window.docks[dock]
    panel.show()
    panel.raise_()
    built = time.perf_counter() - t0
    from ui.coldstart import freeze_startup_objects

    freeze_startup_objects()  # as workstation/app.py does once the window is up, and on book_ready
    desk.book_ready.connect(lambda _d: freeze_startup_objects())
    gcs: list[tuple[int, float]] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        """GUI-thread collections and their CPU ms (a full pass over a big heap is a stall)."""
        if threading.current_thread() is not threading.main_thread():
            return
        if phase == "start":
            gc_start[0] = time.thread_time()
        else:
            gcs.append((info["generation"], (time.thread_time() - gc_start[0]) * 1000))

    gc.callbacks.append(on_gc)
    beat = Heartbeat()
    beat.start()
    sampler = StallSampler(beat) if os.environ.get("BIGTABLES_SAMPLE") else None
    if sampler is not None:
        sampler.start()
    model = panel.blotter.model
    resets = [0]
    model.modelReset.connect(lambda: resets.__setitem__(0, resets[0] + 1))
    run_until(lambda: panel.loaded and model.total_rows >= expect, 600_000)
    shown = time.perf_counter() - t0
    shown_cpu = time.process_time() - c0
    rows = model.total_rows
    stalls_load = list(beat.stalls)
    cpu_load = list(beat.stall_cpu)
    worst_load = beat.worst
    # settle: the remaining startup loads, then another desk's change
    settle0, t_settle = len(beat.stalls), time.perf_counter()
    run_until(lambda: not desk.jobs.running, 120_000)
    run_until(lambda: False, 2_000)
    settle = (beat.stalls[settle0:], beat.stall_cpu[settle0:], time.perf_counter() - t_settle)
    s0 = len(beat.stalls)
    beat.worst = 0.0
    resets0, reads0 = resets[0], panel.reads
    before = model_frame(model)
    visible0 = model.rowCount()
    script = Path(__file__).resolve()
    what = "orders" if dock == "orders" else "cases"
    t1 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(script), "--other-desk", what, "--n", str(n_change), "--url", url],
        stdout=subprocess.PIPE,
        text=True,
    )
    run_until(lambda: proc.poll() is not None, 300_000)
    changed = json.loads((proc.stdout.read() if proc.stdout else "") or "{}").get("ids", [])
    t_written = time.perf_counter() - t1
    target = "canceled" if dock == "orders" else "approved"

    def taken() -> int:
        """Changed rows whose status in the model is the new one (a decided case stays in the
        model, hidden by the queue's fixed `status` filter)."""
        frame = model_frame(model)
        return int((frame[frame["id"].isin(changed)]["status"] == target).sum())

    run_until(lambda: taken() >= len(changed), 120_000)
    t_taken = time.perf_counter() - t1
    run_until(lambda: False, 1_000)  # the view's membership (a decided case leaves the queue)
    after = model_frame(model)
    joined = (
        before.set_index("id")["status"].to_frame("a").join(after.set_index("id")["status"].to_frame("b"))
    )
    diff = int((joined["a"] != joined["b"]).sum())
    out = {
        "rows": rows,
        "built_s": built,
        "expect": expect,
        "shown_s": shown,
        "shown_cpu_s": shown_cpu,
        "load_stalls": stalls_load,
        "load_stall_cpu": cpu_load,
        "load_worst": worst_load,
        "settle_stalls": settle[0],
        "settle_stall_cpu": settle[1],
        "settle_s": settle[2],
        "changed": len(changed),
        "written_s": t_written,
        "taken_s": t_taken,
        "taken_rows": taken(),
        "rows_differing": diff,
        "resets": resets[0] - resets0,
        "reads": panel.reads - reads0,
        "change_stalls": beat.stalls[s0:],
        "change_stall_cpu": beat.stall_cpu[s0:],
        "change_worst": beat.worst,
        "visible_before_after": (visible0, model.rowCount()),
        "gc_gen2": sum(g == 2 for g, _ in gcs),
        "gc_worst_ms": max((ms for _g, ms in gcs), default=0.0),
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_s": time.process_time(),
    }
    if sampler is not None:
        sampler.stop()
        print("\n".join(sampler.report()), file=sys.stderr)
    window.setProperty("force_close", True)
    window.close()
    desk.jobs.wait()
    return out


def model_frame(model: Any) -> Any:
    """The model's rows (id and status/state) as a DataFrame, whatever the filter shows."""
    import pandas as pd

    n = model.total_rows
    cols = {c: model._data[c][:n].copy() for c in ("id", "status", "state") if c in model._data}
    return pd.DataFrame(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/tmp/books/demo10k-h0.db")
    ap.add_argument("--dir", default="/tmp/bigtables")
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument(
        "--reuse", action="store_true", help="start from DIR/seeded.db (kept by the last seeding)"
    )
    ap.add_argument("--seed-only", action="store_true")
    ap.add_argument("--other-desk", choices=("orders", "cases"))
    ap.add_argument("--panel", choices=("orders", "approvals"))
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--url")
    args = ap.parse_args()
    if args.other_desk:
        print(json.dumps(other_desk(args.url, args.other_desk, args.n)))
        return
    if args.seed_only:
        r = seed(args.url, args.chunk)
        r.pop("ids")
        print(json.dumps(r))
        return
    if args.panel:
        who, ws = ("tara.trader", "trader") if args.panel == "orders" else ("cora.compliance", "compliance")
        print(json.dumps(measure(args.url, who, ws, args.panel, args.n, args.expect)))
        return
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "book.db"
    me = [sys.executable, str(Path(__file__).resolve())]
    url = f"sqlite:///{db}"
    load0 = load()
    seeded: dict[str, Any] = {}
    kept = folder / "seeded.db"  # the seeded book, before any run's changes
    for tail in ("", "-wal", "-shm"):
        Path(f"{db}{tail}").unlink(missing_ok=True)
    if args.reuse and kept.exists():
        shutil.copyfile(kept, db)
    else:
        shutil.copyfile(args.src, db)
        out = subprocess.run(
            [*me, "--seed-only", "--url", url, "--chunk", str(args.chunk)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seeded = json.loads(out.splitlines()[-1])
        with sqlite3.connect(db) as con:
            con.execute("pragma wal_checkpoint(truncate)")
        shutil.copyfile(db, kept)
    with sqlite3.connect(db) as con:
        n_orders = con.execute("select count(*) from orders").fetchone()[0]
        n_cases = con.execute(
            "select count(*) from compliance_approvals where state = 'pending_approval'"
        ).fetchone()[0]
    results = {}
    for panel, expect in (("orders", n_orders), ("approvals", n_cases)):
        out = subprocess.run(
            [*me, "--panel", panel, "--url", url, "--n", str(args.n), "--expect", str(expect)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[panel] = json.loads(out.splitlines()[-1])
    load1 = load()
    if seeded:
        print(
            f"seeded {seeded['orders']:,} orders for {seeded['accounts']:,} accounts through OrderManager.create "
            f"in {seeded['cpu_s']:.1f} CPU s / {seeded['wall_s']:.1f} s wall"
        )
    print(f"| big tables ({n_orders:,} orders, {n_cases:,} pending cases) | order blotter | approval queue |")
    print("|---|---|---|")
    o, a = results["orders"], results["approvals"]

    def row(label: str, f: Any) -> None:
        print(f"| {label} | {f(o)} | {f(a)} |")

    row("rows in the table / expected", lambda r: f"{r['rows']:,} / {r['expect']:,}")
    row("window built and shown (GUI thread, no event loop yet)", lambda r: f"{r['built_s']:.1f} s")
    row(
        "window open -> every row shown: wall / process CPU",
        lambda r: f"{r['shown_s']:.1f} s / {r['shown_cpu_s']:.1f} s",
    )

    def stalls(r: dict[str, Any], phase: str) -> str:
        """Count and worst of a phase's stalls over 100 ms, and the most GUI-thread CPU in one."""
        gaps, cpu = r[f"{phase}_stalls"], r[f"{phase}_stall_cpu"]
        return f"{len(gaps)}, {max(gaps, default=0):,.0f} ms ({max(cpu, default=0):,.0f} ms)"

    row(
        "GUI stalls > 100 ms while loading: count, worst (GUI-thread CPU in worst-CPU stall)",
        lambda r: stalls(r, "load"),
    )
    row(
        "then the workspace's other loads (book, audit...) + 2 s: duration, stalls > 100 ms, worst (GUI CPU)",
        lambda r: f"{r['settle_s']:.1f} s, {stalls(r, 'settle')}",
    )
    row("another desk changes (cancel / approve)", lambda r: f"{r['changed']} in {r['written_s']:.1f} s")
    row("first write -> table shows all of them", lambda r: f"{r['taken_s']:.1f} s ({r['taken_rows']} rows)")
    row(
        "rows whose status changed in the model / whole reloads (model resets)",
        lambda r: f"{r['rows_differing']} / {r['resets']}",
    )
    row("GUI stalls > 100 ms during the change: count, worst (GUI CPU)", lambda r: stalls(r, "change"))
    row(
        "rows visible before -> after",
        lambda r: f"{r['visible_before_after'][0]:,} -> {r['visible_before_after'][1]:,}",
    )
    row(
        "GUI-thread garbage collections: gen-2 count, slowest (CPU)",
        lambda r: f"{r['gc_gen2']}, {r['gc_worst_ms']:.0f} ms",
    )
    row("GUI process peak RSS / CPU s", lambda r: f"{r['rss_mib']:,.0f} MiB / {r['cpu_s']:.1f} s")
    print(f"| load average (1, 5, 15 min) start -> end | {load0} -> {load1} | |")


if __name__ == "__main__":
    main()
