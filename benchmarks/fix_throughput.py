"""FIX round trips through the OMS: lone orders against the SIMULATED broker in another process and
against QuickFIX's C++ example executor ($WORKSTATION_QF_EXECUTOR, when built), with the bare
QuickFIX round trip (benchmarks/fix_bare.py: no OMS, no database) measured in the same run.

Part 1, lone orders (account orders, no blocks), each from its route to its fill recorded in the
database (OrderChanged after the commit):
  - one at a time: each order routed by its own call (`OmsLoop.route([id])`, queued to the engine
    thread, as the desk's ticket or blotter routes one order) once the last one filled: p50/p99,
    and where the time goes (milestones after the route call, from timestamps taken in the run:
    committed pending_new, handed to QuickFIX, route call answered, ack and fill received by the
    FIX callback, ack and fill recorded);
  - streams: a caller thread makes one route call per order, paced at `--rate` calls a second
    (default 1,000), then `--orders` more all at once; the engine thread routes the calls waiting
    and applies the reports waiting in waves (engine.oms.waves): orders/s, p50/p99 from each call
    to its fill in the database, CPU of the process per order.
The executor fills limit orders at once without a New ack, so its ack rows are empty.
Part 2 (`--blocks`): a rebalance's child orders (default 20,000 over 10,000 accounts) aggregated
into blocks, routed, filled in parts, allocated back to every account: wall time end to end.

Usage: .venv/bin/python benchmarks/fix_throughput.py [--orders 1000] [--lone 200] [--blocks]
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import functools
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fix_bare import BareClient, median, pct  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from connectors.fix.config import dictionary_path  # noqa: E402
from engine.oms.drafts import OrderDraft  # noqa: E402
from engine.oms.events import OrderChanged  # noqa: E402
from engine.oms.messages import ExecReport, NewOrder  # noqa: E402
from engine.oms.router import Router  # noqa: E402
from engine.oms.tables import Allocation, AllocInstruction, Order  # noqa: E402
from engine.store.accounts import Account, Household  # noqa: E402
from tests.conftest import migrated  # noqa: E402
from tests.connectors.fix.harness import Oms, Sim, free_port  # noqa: E402
from tests.connectors.fix.test_quickfix_executor import EXECUTOR  # noqa: E402
from tests.engine.oms.book import PassAll, RecordingBooker, make_book  # noqa: E402


def add_accounts(db, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        hid = s.scalar(select(Household.id))
        rows = [
            dict(code=f"B{i:05d}", name=f"Bench {i}", household_id=hid, base_currency="USD", custodian="X",
                 tax_status="taxable", tax_jurisdiction="US", client_type="retail", domicile="onshore",
                 kyc_status="approved", risk_rating="medium", cash_target=Decimal("0.02"),
                 cash_floor=Decimal("0.01"), drift_band=Decimal("0.05"), lot_relief="fifo")
            for i in range(n)
        ]  # fmt: skip
        s.execute(insert(Account), rows)
    return [r["code"] for r in rows]


STAGES = (
    ("picked", "route wave started (engine thread takes the call)"),
    ("committed", "committed pending_new (route tx)"),
    ("wire", "handed to QuickFIX (on the wire)"),
    ("routed", "route call answered (Future done)"),
    ("ack_rx", "ack received (FIX callback)"),
    ("ack_db", "ack recorded (committed)"),
    ("fill_rx", "fill received (FIX callback)"),
    ("fill_db", "fill recorded (committed)"),
)


class Stages:
    """Timestamps (time.time) of each order's milestones, taken by wrapping the OMS's seams."""

    def __init__(self, oms: Oms) -> None:
        self.at: dict[str, dict[str, float]] = defaultdict(dict)
        self.current: list[str] = []
        gw, mgr = oms.gateway, oms.manager
        send, apply_batch = gw.send, mgr.apply_batch

        self.cpu: dict[str, float] = defaultdict(float)  # part -> engine-thread CPU seconds
        self.cl_of: dict[int, str] = {}  # order id -> ClOrdID (set by the caller)
        self.waves: list[tuple[str, int, float]] = []  # (route|apply, size, wall seconds)
        ctx, loop = mgr.ctx, oms.loop
        send_all, stamp_sent, route, tick = ctx.send_all, ctx.stamp_sent, mgr.router.route, loop._tick

        def cpu(part: str, fn):  # type: ignore[no-untyped-def]
            def run(*a, **kw):  # type: ignore[no-untyped-def]
                t = time.thread_time()
                try:
                    return fn(*a, **kw)
                finally:
                    self.cpu[part] += time.thread_time() - t

            return run

        ctx.send_all = cpu("send", send_all)  # type: ignore[method-assign]
        ctx.stamp_sent = cpu("stamp", stamp_sent)  # type: ignore[method-assign]

        def picked(order_ids, *a, **kw):  # type: ignore[no-untyped-def]
            t = time.time()
            for i in order_ids:
                cl = self.cl_of.get(i)
                if cl is not None:
                    self.at[cl].setdefault("picked", t)
            try:
                return route(order_ids, *a, **kw)
            finally:
                self.waves.append(("route", len(order_ids), time.time() - t))

        mgr.router.route = cpu("route", picked)  # type: ignore[method-assign]
        loop._tick = cpu("tick", tick)  # type: ignore[method-assign]

        def timed_send(m):  # type: ignore[no-untyped-def]
            send(m)
            if isinstance(m, NewOrder):
                self.at[m.cl_ord_id].setdefault("wire", time.time())

        @functools.partial(cpu, "apply")
        def timed_apply(messages, *rest):  # type: ignore[no-untyped-def]
            for m in messages:
                if isinstance(m, ExecReport):
                    key = "fill_rx" if m.exec_type == "F" else "ack_rx" if m.exec_type == "0" else ""
                    if key:
                        self.at[m.cl_ord_id].setdefault(key, m.received_at.timestamp())
            t = time.time()
            try:
                return apply_batch(messages, *rest)
            finally:
                self.waves.append(("apply", len(messages), time.time() - t))

        def changed(e: OrderChanged) -> None:
            key = {"new": "ack_db", "filled": "fill_db"}.get(e.status)
            if key:
                self.at[e.cl_ord_id].setdefault(key, time.time())

        def checkpoint(point: str) -> None:
            if point == "after_commit":
                for cl in self.current:
                    self.at[cl].setdefault("committed", time.time())

        gw.send = timed_send  # type: ignore[method-assign]
        mgr.apply_batch = timed_apply  # type: ignore[method-assign]
        mgr.bus.subscribe(OrderChanged, changed)
        Router.checkpoint = staticmethod(checkpoint)  # type: ignore[method-assign]

    def cpu_table(self, n: int, total: float) -> list[tuple[str, float]]:
        """Engine-thread CPU ms per order by part; `total`: the thread's CPU over the run."""
        c = self.cpu
        parts = [
            ("route: the wave's transaction (checks, state machine, audit, last sent_at, commit)",
             c["route"] - c["send"] - c["stamp"]),
            ("route: hand-off to QuickFIX (send_all)", c["send"]),
            ("route: sent_at in its own transaction (direct route() only)", c["stamp"]),
            ("apply ack and fill (transaction, sent_at, booking, audit, progress)", c["apply"]),
            ("periodic tick (held orders, allocations, TCA marks)", c["tick"]),
        ]  # fmt: skip
        parts.append(("the loop itself (waiting, taking, the rest)", total - sum(x for _, x in parts)))
        return [(name, x / max(n, 1) * 1000) for name, x in parts]

    def wave_table(self, since: int) -> list[tuple[str, int, float, float, float, float]]:
        """Per kind of wave since index `since`: count, p50 and max size, p50 and p99 wall ms."""
        out = []
        for kind in ("route", "apply"):
            ws = [w for w in self.waves[since:] if w[0] == kind]
            sizes, walls = [float(w[1]) for w in ws], [w[2] * 1000 for w in ws]
            out.append(
                (kind, len(ws), median(sizes), max(sizes, default=0.0), median(walls), pct(walls, 0.99))
            )
        return out

    def table(self, cls: list[str]) -> list[tuple[str, int, float, float]]:
        rows = []
        for key, name in STAGES:
            xs = [(self.at[c][key] - self.at[c]["release"]) * 1000 for c in cls if key in self.at[c]]
            rows.append((name, len(xs), median(xs), pct(xs, 0.99)))
        return rows


def lone(  # type: ignore[type-arg]
    oms: Oms,
    codes: list[str],
    n_lone: int,
    n_stream: int,
    rate: float,
    limit: bool,
    profile: str | None = None,
    counterpart: int | None = None,
) -> dict:
    """Part 1 against whatever `oms` is connected to: every order is routed by its own call queued
    to the engine thread (OmsLoop.route, as the desk's ticket and blotter route one order)."""
    kw = dict(order_type="limit", limit_price=Decimal("100.5")) if limit else {}
    drafts = [OrderDraft(codes[i % len(codes)], "AAPL", "buy", Decimal(100), broker="SIM", **kw)  # type: ignore[arg-type]
              for i in range(n_lone + 2 * n_stream)]  # fmt: skip
    ids = oms.create(*drafts)
    with oms.database.session() as s:
        cl_of = dict(s.execute(select(Order.id, Order.cl_ord_id).where(Order.id.in_(ids))).all())
    stages = Stages(oms)
    stages.cl_of = dict(cl_of)
    for cl in cl_of.values():  # made here, not by two threads at once
        stages.at[cl]["created"] = time.time()
    filled = lambda i: "fill_db" in stages.at[cl_of[i]]  # noqa: E731
    # one at a time
    prof = cProfile.Profile() if profile else None
    if prof is not None:
        prof.enable()
    lat, cpu0, thread0, peer0 = [], time.process_time(), time.thread_time(), process_cpu(counterpart)
    stages.cpu.clear()
    for i in ids[:n_lone]:
        cl = cl_of[i]
        stages.current = [cl]
        stages.at[cl]["release"] = time.time()
        done = oms.loop.route([i])
        done.add_done_callback(lambda _f, cl=cl: stages.at[cl].setdefault("routed", time.time()))
        assert oms.loop.run_until(lambda i=i: filled(i), 30), f"order {i} not filled"
        lat.append((stages.at[cl]["fill_db"] - stages.at[cl]["release"]) * 1000)
    cpu_one = (time.process_time() - cpu0) / max(n_lone, 1) * 1000
    cpu_parts = stages.cpu_table(n_lone, time.thread_time() - thread0)
    out = dict(one=lat, one_cpu=cpu_one, stages=stages.table([cl_of[i] for i in ids[:n_lone]]), cpu=cpu_parts,
               peer=(process_cpu(counterpart) - peer0) / max(n_lone, 1) * 1000)  # fmt: skip
    # streams: a caller thread routes each order by its own call, paced at `rate` per second, then
    # all at once (a burst); the engine thread routes and applies whatever is waiting, in waves
    for name, part, pace in (("paced", ids[n_lone : n_lone + n_stream], rate),
                             ("burst", ids[n_lone + n_stream :], 0.0)):  # fmt: skip
        stages.current = []

        caller_tid: list[int] = []

        def caller(part: list[int] = part, pace: float = pace, tids: list[int] = caller_tid) -> None:
            tids.append(threading.get_native_id())
            t0 = time.perf_counter()
            for k, i in enumerate(part):
                if pace:
                    wait = t0 + k / pace - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                stages.at[cl_of[i]]["release"] = time.time()
                oms.loop.route([i])

        cpu0, t0, thread0, peer0 = (
            time.process_time(),
            time.time(),
            time.thread_time(),
            process_cpu(counterpart),
        )
        waves0, steps, wave0, threads0 = oms.loop.routed, 0, len(stages.waves), thread_cpu()
        thread = threading.Thread(target=caller, name="route-caller")
        thread.start()
        deadline = time.monotonic() + 600
        while not all(filled(i) for i in part) and time.monotonic() < deadline:
            oms.loop.step(0.05)
            steps += 1
        thread.join()
        threads1 = thread_cpu()
        assert all(filled(i) for i in part), f"{name} stream not filled"
        by_thread = {t: threads1[t] - threads0.get(t, 0.0) for t in threads1}
        main_cpu = by_thread.pop(threading.get_native_id(), 0.0)
        caller_cpu = sum(by_thread.pop(t, 0.0) for t in caller_tid)
        threads = {"engine thread (the loop: route and apply waves)": main_cpu,
                   "route caller thread": caller_cpu,
                   "QuickFIX's threads (socket, callbacks, log) and the rest": sum(by_thread.values())}  # fmt: skip
        wall = max(stages.at[cl_of[i]]["fill_db"] for i in part) - t0
        slat = [(stages.at[cl_of[i]]["fill_db"] - stages.at[cl_of[i]]["release"]) * 1000 for i in part]
        out[name] = dict(rate=len(part) / wall, lat=slat, offered=pace,
                         cpu=(time.process_time() - cpu0) / max(len(part), 1) * 1000,
                         engine=(time.thread_time() - thread0) / max(len(part), 1) * 1000,
                         calls=oms.loop.routed - waves0, steps=steps,
                         stages=stages.table([cl_of[i] for i in part]), waves=stages.wave_table(wave0),
                         threads={k: v / max(len(part), 1) * 1000 for k, v in threads.items()},
                         peer=(process_cpu(counterpart) - peer0) / max(len(part), 1) * 1000)  # fmt: skip
    if prof is not None:
        prof.disable()
        prof.dump_stats(str(profile))
    return out


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process so far, by native id (Linux /proc)."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in Path("/proc/self/task").iterdir():
        try:
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(d.name)] = (int(stat[11]) + int(stat[12])) / tick
    return out


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of another process so far (Linux /proc; 0 without a pid)."""
    if pid is None:
        return 0.0
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def bare(tmp: Path, port: int, n_lone: int, n_stream: int, counterpart: int | None = None) -> dict:  # type: ignore[type-arg]
    c = BareClient(tmp, port)
    try:
        c.one_at_a_time(20)  # warm up
        peer0 = process_cpu(counterpart)
        one = c.one_at_a_time(n_lone)
        peer1 = process_cpu(counterpart)
        rate, stream = c.stream(n_stream)
        peer2 = process_cpu(counterpart)
    finally:
        c.stop()
    return dict(one=one, rate=rate, stream=stream, peer_one=(peer1 - peer0) / max(n_lone, 1) * 1000,
                peer_stream=(peer2 - peer1) / max(n_stream, 1) * 1000)  # fmt: skip


def start_executor(tmp: Path) -> tuple[int, subprocess.Popen]:  # type: ignore[type-arg]
    """QuickFIX's example executor as SIM (FIX 4.4) for the OMS (WS) and the bare client (BARE)."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "executor.cfg"
    lines = ["[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}", "SocketReuseAddress=Y",
             "StartTime=00:00:00", "EndTime=00:00:00", f"FileStorePath={tmp / 'ex-store'}",
             "UseDataDictionary=Y", f"DataDictionary={dictionary_path()}"]  # fmt: skip
    for client in ("WS", "BARE"):
        lines += ["", "[SESSION]", "BeginString=FIX.4.4", "SenderCompID=SIM", f"TargetCompID={client}"]
    cfg.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([str(EXECUTOR), str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port, proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("QuickFIX executor did not start") from None
            time.sleep(0.05)


def print_part1(name: str, r: dict, b: dict) -> None:  # type: ignore[type-arg]
    print(f"\n== lone orders against {name} (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"{'case':<56} {'n':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/order':>13}")
    one = r["one"]
    print(
        f"{'OMS, one at a time: route call -> fill in DB':<56} {len(one):>6} {1000 / median(one):>8.0f} "
        f"{median(one):>8.2f} {pct(one, 0.99):>8.2f} {r['one_cpu']:>13.2f}"
    )
    for key in ("paced", "burst"):
        st = r[key]
        what = f"offered {st['offered']:.0f}/s" if st["offered"] else "all at once"
        label = f"OMS, stream of lone route calls ({what})"
        print(
            f"{label:<56} {len(st['lat']):>6} {st['rate']:>8.0f} "
            f"{median(st['lat']):>8.2f} {pct(st['lat'], 0.99):>8.2f} {st['cpu']:>13.2f}"
        )
    print("  engine-thread CPU per order in the streams (the rest of the process CPU: QuickFIX's threads"
          f" and the caller): paced {r['paced']['engine']:.2f} ms, all at once {r['burst']['engine']:.2f} ms;"
          f" route calls answered {r['paced']['calls']} and {r['burst']['calls']} in {r['paced']['steps']} and"
          f" {r['burst']['steps']} loop steps")  # fmt: skip
    bo, bs = b["one"], b["stream"]
    print(
        f"{'bare QuickFIX, one at a time: send -> fill':<56} {len(bo):>6} {1000 / median(bo):>8.0f} "
        f"{median(bo):>8.2f} {pct(bo, 0.99):>8.2f} {'':>13}"
    )
    print(
        f"{'bare QuickFIX, stream: send -> fill':<56} {len(bs):>6} {b['rate']:>8.0f} "
        f"{median(bs):>8.2f} {pct(bs, 0.99):>8.2f} {'':>13}"
    )
    print(f"  the counterpart's process CPU ms per order: OMS one at a time {r['peer']:.3f}, paced"
          f" {r['paced']['peer']:.3f}, all at once {r['burst']['peer']:.3f}; bare one at a time"
          f" {b['peer_one']:.3f}, bare stream {b['peer_stream']:.3f}")  # fmt: skip
    print("  where the time goes (one at a time), ms after the route call:")
    for stage, n, p50, p99 in r["stages"]:
        print(f"    {stage:<48} {n:>6} {'':>8} {p50:>8.2f} {p99:>8.2f}")  # fmt: skip
    for key in ("paced", "burst"):
        st = r[key]
        what = f"offered {st['offered']:.0f}/s" if st["offered"] else "all at once"
        print(f"  where the time goes (stream {what}), ms after the route call:")
        for stage, n, p50, p99 in st["stages"]:
            print(f"    {stage:<48} {n:>6} {'':>8} {p50:>8.2f} {p99:>8.2f}")  # fmt: skip
        print("    waves: kind, count, size p50 / max, wall ms p50 / p99:")
        for kind, n, s50, smax, w50, w99 in st["waves"]:
            print(f"      {kind:<6} {n:>6} {s50:>7.0f} / {smax:<6.0f} {w50:>8.2f} / {w99:<8.2f}")
        print(
            "    process CPU ms per order by thread: "
            + "; ".join(f"{k} {v:.3f}" for k, v in st["threads"].items())
        )
    print("  engine-thread CPU per order (one at a time), ms:")
    for part, ms in r["cpu"]:
        print(f"    {part:<75} {ms:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1000, help="lone orders in the stream")
    ap.add_argument("--lone", type=int, default=200, help="lone orders routed one at a time")
    ap.add_argument(
        "--rate", type=float, default=1000.0, help="route calls per second offered in the paced stream"
    )
    ap.add_argument("--blocks", action="store_true", help="also part 2: a rebalance's children in blocks")
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument(
        "--profile", help="write a cProfile of the engine thread's lone orders against the simulator here"
    )
    ap.add_argument("--per-account", type=int, default=2)
    ap.add_argument(
        "--wave", type=int, default=0, help="route calls per engine step (OmsLoop.wave; 0: its default)"
    )
    ap.add_argument(
        "--batch", type=int, default=0, help="broker messages per step (OmsLoop.batch; 0: its default)"
    )
    args = ap.parse_args()

    def tune(oms: Oms) -> None:
        if args.wave:
            oms.loop.wave = args.wave
        if args.batch:
            oms.loop.batch = args.batch
        cap = getattr(oms.loop, "wave", "all the")  # the code before the cap had none
        print(f"(engine loop: at most {cap} route calls and {oms.loop.batch} broker messages a step)")

    tmp = Path(tempfile.mkdtemp(prefix="fixbench-"))
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    make_book(db)
    codes = add_accounts(db, args.accounts if args.blocks else 100)
    sim = Sim(tmp, "--ignore-market-hours", "--fill-parts", "1", "--fill-interval", "0", clients="WS,BARE")
    atexit.register(sim.stop)  # a child process: never left running, whatever fails
    sim.ready()
    rows = []
    try:
        b = bare(tmp / "bare-sim", sim.port, args.lone, args.orders, sim.proc.pid)
        oms = Oms(db, tmp, sim.port, checker=PassAll(), booker=RecordingBooker())
        tune(oms)
        r = lone(oms, codes, args.lone, args.orders, args.rate, limit=False, profile=args.profile,
                 counterpart=sim.proc.pid)  # fmt: skip
        print_part1("the SIMULATED broker (another process)", r, b)
        if not args.blocks:
            oms.stop()
    finally:
        if not args.blocks:
            sim.stop()
    if EXECUTOR.exists():
        exdb = migrated(f"sqlite:///{tmp / 'book-ex.db'}")
        make_book(exdb)
        excodes = add_accounts(exdb, 100)
        port, proc = start_executor(tmp / "ex")
        try:
            b = bare(tmp / "bare-ex", port, args.lone, args.orders, proc.pid)
            exoms = Oms(exdb, tmp / "ex", port, checker=PassAll(), booker=RecordingBooker())
            tune(exoms)
            r = lone(exoms, excodes, args.lone, args.orders, args.rate, limit=True, counterpart=proc.pid)
            exoms.stop()
            print_part1("QuickFIX's C++ example executor", r, b)
        finally:
            proc.kill()
            proc.wait()
    else:
        print(f"\n(QuickFIX executor not built at {EXECUTOR}: set WORKSTATION_QF_EXECUTOR)")
    if not args.blocks:
        return
    filled_at: dict[int, float] = {}
    oms.manager.bus.subscribe(
        OrderChanged,
        lambda e: filled_at.setdefault(e.order_id, time.perf_counter()) if e.status == "filled" else None,
    )
    print("\n== a rebalance's child orders in blocks, against the SIMULATED broker")
    try:
        # Part 2: child orders of a rebalance, as blocks with allocations
        syms = ("AAPL", "VOD.L", "7203.T")
        drafts = [
            OrderDraft(
                c,
                syms[(j + n) % 3],
                "buy" if j % 2 == 0 else "sell",
                Decimal(100 * (1 + n % 5)),
                broker="SIM",
            )
            for n, c in enumerate(codes)
            for j in range(args.per_account)
        ]
        t_create = time.perf_counter()
        child_ids = oms.manager.create(drafts)
        t1 = time.perf_counter()
        blocks = oms.manager.build_blocks(child_ids)
        oms.manager.route(blocks, outside_hours=True)
        oms.loop.run_until(lambda: all(b in filled_at for b in blocks), 600)
        wall2 = time.perf_counter() - t1
        with db.session() as s:
            n_alloc = s.scalar(
                select(func.count()).select_from(Allocation).where(Allocation.block_id.in_(blocks))
            )
        rows.append((f"{len(child_ids)} children in {len(blocks)} blocks, route->allocated", n_alloc, wall2,
                     n_alloc / wall2, float("nan"), float("nan")))  # fmt: skip

        def accepted() -> int:  # the blocks' AllocationInstructions (J) the broker accepted (P, AS)
            with db.session() as s:
                return int(s.scalar(select(func.count()).select_from(AllocInstruction).where(
                    AllocInstruction.block_id.in_(blocks), AllocInstruction.report_id.is_not(None))) or 0)  # fmt: skip

        oms.loop.run_until(lambda: accepted() == len(blocks), 600)
        wall3 = time.perf_counter() - t1
        rows.append((f"... and {accepted()} J accepted (P) and reported (AS)", n_alloc, wall3,
                     n_alloc / wall3, float("nan"), float("nan")))  # fmt: skip
        create_s = t1 - t_create
        oms.stop()
    finally:
        sim.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'case':<58} {'n':>7} {'wall s':>8} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, n, w, per, p50, p99 in rows:
        print(f"{name:<58} {n:>7} {w:>8.2f} {per:>9.1f} {p50:>8.1f} {p99:>8.1f}")
    print(
        f"creating {len(drafts)} child orders (with the compliance double): {create_s:.2f} s; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
