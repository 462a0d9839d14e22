"""The order ticket: from the trader's Enter (Send, after the check) to the NewOrderSingle handed to
the FIX session (`orders.sent_at`), against the SIMULATED broker over 127.0.0.1, offscreen.

The path measured: GUI key press -> desk worker -> the OMS link's engine thread -> create (the
stored compliance check, approval cases, audit) -> route -> QuickFIX send. Prints one row per
send and the median and worst, with the load average. It waits for the OMS link's warm-up after
Connect (engine.oms.warm: what a trader's typing of the first ticket leaves time for), so the
first send shows what a trader's first Send costs.

Usage: .venv/bin/python benchmarks/ticket_latency.py [--sends 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import select  # noqa: E402

app = QApplication.instance() or QApplication(sys.argv)

from engine.clock import SystemClock  # noqa: E402
from engine.compliance import preview  # noqa: E402
from engine.oms.tables import Order  # noqa: E402
from engine.store.accounts import Account  # noqa: E402
from engine.store.positions import CashBalance  # noqa: E402
from engine.store.reference import Security  # noqa: E402
from engine.views.users import desk_users  # noqa: E402
from tests.ui.conftest import build_book  # noqa: E402
from ui.desk import Desk  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.screenshot import wait_ready  # noqa: E402
from ui.settings import UserSettings  # noqa: E402
from ui.workers import Jobs  # noqa: E402
from workstation.trader_demo import SimulatedTrading  # noqa: E402

OPEN = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # New York open: routed orders go out at once


class ShiftedClock(SystemClock):
    """Real time moving at real speed, shifted so the run starts at a New York open."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = OPEN - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def pump_until(done, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.001)
    return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sends", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ticket-bench-"))
    db = build_book(tmp / "book.db", accounts=6)
    with db.transaction() as s:  # USD to buy with, so the buy passes compliance (no overdraft flag)
        for aid in s.scalars(select(Account.id)):
            row = s.scalars(
                select(CashBalance).where(CashBalance.account_id == aid, CashBalance.currency == "USD")
            ).first()
            if row is None:
                s.add(CashBalance(account_id=aid, currency="USD", settled=Decimal(10_000_000)))
            else:
                row.settled = Decimal(10_000_000)
        sym = s.scalars(
            select(Security.symbol).where(Security.mic == "XNYS", Security.asset_class == "equity")
        ).first()
    clock = ShiftedClock()
    sim = SimulatedTrading.start(db, clock=clock, fill_parts=0, route=False, sender="WSB")
    try:
        user = next(u for u in desk_users(db) if u.username == "tara.trader")
        desk = Desk(db, user, clock=clock, jobs=Jobs())
        sim.attach(desk)
        w = MainWindow(
            desk,
            UserSettings(user.username, QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)),
            theme="light",
            restore=False,
        )
        w.resize(1280, 720)
        w.show()
        assert wait_ready(w, 60_000)
        sim.link.connect()
        warm0 = time.monotonic()  # the trader types the first ticket: the link warms up meanwhile
        warm_cpu0 = time.process_time()
        assert pump_until(lambda: sim.link.warm.done, 60), "the OMS link's warm-up did not finish"
        warm_note = (
            f"the OMS link's warm-up (engine.oms.warm: {len(sim.link.warm.warmed)} loads) finished "
            f"{time.monotonic() - warm0:.1f} s after Connect ({time.process_time() - warm_cpu0:.2f} CPU s, "
            "the process's)"
        )
        panel = w.docks["orders"]
        rows = []
        marks: dict[str, float] = {}  # where the time goes: wall stamps of the send's hops
        link, mgr = sim.link, sim.link.manager
        call, create, route = link.call, mgr.create, mgr.route

        def stamped(name: str, fn):  # type: ignore[no-untyped-def]
            def run(*a, **kw):  # type: ignore[no-untyped-def]
                marks.setdefault(name, time.time())
                cpu = time.thread_time()
                try:
                    return fn(*a, **kw)
                finally:
                    marks.setdefault(name + " done", time.time())
                    marks.setdefault(name + " cpu", time.thread_time() - cpu + w0)

            return run

        link.call = stamped("worker", call)  # type: ignore[method-assign]
        mgr.create = stamped("create", create)  # type: ignore[method-assign]
        mgr.route = stamped("route", route)  # type: ignore[method-assign]
        hops: list[dict[str, float]] = []
        w0 = 0.0
        for i in range(args.sends):
            d = panel.open_ticket()
            d.keys.setText("A000001")
            d.security.setText(str(sym))
            d.amount.setText(str(10 + i))  # not identical to the last one (the duplicate-order rule)
            d.check()
            assert pump_until(lambda d=d: d.plan is not None and not d.busy and not d.stale)
            assert d.send_button.isEnabled(), d.summary.text()
            before = set(db.session().scalars(select(Order.id)))
            marks.clear()
            t0 = clock.now()
            w0 = time.time()
            QTest.keyClick(d, Qt.Key.Key_Return)

            def sent(before: set[int] = before) -> bool:
                if "route done" not in marks and "create done" not in marks:
                    return False  # not there yet: no query every millisecond competing for the GIL
                with db.session() as s:
                    return any(
                        o.sent_at is not None for o in s.scalars(select(Order).where(Order.id.notin_(before)))
                    )

            if not pump_until(sent, 15):
                from engine.oms.tables import OrderEvent

                with db.session() as s:
                    evs = [
                        (e.kind, e.status_to, e.detail)
                        for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id.notin_(before)))
                    ]
                raise SystemExit(f"not sent: {[(ln.account, ln.outcome) for ln in d.plan.lines]} {evs}")
            with db.session() as s:
                o = s.scalars(select(Order).where(Order.id.notin_(before))).one()
                rows.append((o.sent_at - t0).total_seconds() * 1000)
                hops.append({k: (v - w0) * 1000 for k, v in marks.items()})
        print(warm_note)
        print(f"load average: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
        print("send  Enter -> NewOrderSingle handed to QuickFIX (ms)")
        for i, ms in enumerate(rows, 1):
            print(f"{i:4d}  {ms:8.1f}")
        print(f"median {statistics.median(rows):.1f} ms, worst {max(rows):.1f} ms over {len(rows)} sends")
        print(
            f"Send reused the preview check {preview.stats['reused']} time(s), checked again "
            f"{preview.stats['checked_again']} time(s) (something it read had changed)"
        )
        first = hops[0] if hops else {}
        print(
            "the first send, ms after Enter: "
            + ", ".join(f"{k} {v:.1f}" for k, v in sorted(first.items(), key=lambda kv: kv[1]))
        )
        print("where the time goes, median ms after Enter:")
        for name, what in (
            ("worker", "a desk worker calls the OMS link (GUI -> worker hop)"),
            ("create", "the engine thread starts create (worker -> engine hop)"),
            ("create done", "create returned (permission, compliance check, case, audit, commit)"),
            ("route", "route starts"),
            ("route done", "route returned (pending_new committed, handed to QuickFIX, sent_at)"),
            ("create cpu", "CPU of create on the engine thread"),
            ("route cpu", "CPU of route on the engine thread"),
        ):
            xs = [h[name] for h in hops if name in h]
            if xs:
                print(f"  {what:<72} {statistics.median(xs):8.1f}")
    finally:  # the simulated broker is a child process: never leave it running
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
