"""Day orders expire at the market's close; several brokers at once with per-broker status.

These run the simulator in a thread of this process (quickfix acceptor and initiator side by
side) so that its clock can start exactly when the test does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from connectors.broker_sim.faults import SimSettings
from connectors.broker_sim.markets import SimClock
from connectors.broker_sim.server import serve
from connectors.fix.config import DEFAULTS, dictionary_path
from engine.store.trading import Execution
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, draft, free_port
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


@contextmanager
def sim_thread(tmp: Path, comp_id: str, settings: SimSettings, clock: SimClock) -> Iterator[int]:
    port = free_port()
    stop = threading.Event()
    t = threading.Thread(
        target=serve,
        args=(port, comp_id, ["WS"], tmp / f"sim-{comp_id}", settings, {}, clock),
        kwargs={"stop": stop},
    )
    t.start()
    try:
        yield port
    finally:
        stop.set()
        t.join(10)


def test_day_order_expires_at_the_close(tmp_path: Path) -> None:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    clock = SimClock(datetime.fromisoformat("2026-11-23T20:59:58+00:00"))  # Nasdaq closes at 21:00 UTC
    with sim_thread(tmp_path, "SIM", SimSettings(fill_parts=0, market_hours=True), clock) as port:
        oms = Oms(db, tmp_path, port, checker=PassAll(), booker=RecordingBooker())
        try:
            [day] = oms.create(draft(qty=100))
            [gtc] = oms.create(draft(qty=100, time_in_force="gtc"))
            oms.manager.route([day, gtc])
            o = oms.wait(day, timeout=20)
            assert (o.status, o.cum_qty, o.leaves_qty) == ("expired", 0, 0)
            assert oms.order(gtc).status == "new"
        finally:
            oms.stop()
    db.dispose()


def test_two_brokers_at_once_with_status(tmp_path: Path) -> None:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    fast = SimSettings(fill_parts=1, fill_interval=0.05, market_hours=False)
    with (
        sim_thread(tmp_path, "SIM", fast, SimClock()) as p1,
        sim_thread(tmp_path, "BRK2", fast, SimClock()) as p2,
    ):
        cfg = tmp_path / "two.cfg"
        lines = ["[DEFAULT]", *[f"{k}={v}" for k, v in DEFAULTS.items()], f"DataDictionary={dictionary_path()}",
                 f"FileStorePath={tmp_path / 'fix' / 'store'}", f"FileLogPath={tmp_path / 'fix' / 'log'}",
                 "SocketConnectHost=127.0.0.1"]  # fmt: skip
        for target, port in (("SIM", p1), ("BRK2", p2)):
            lines += ["", "[SESSION]", "BeginString=FIX.4.4", "SenderCompID=WS", f"TargetCompID={target}",
                      f"SocketConnectPort={port}"]  # fmt: skip
        cfg.write_text("\n".join(lines) + "\n")
        (tmp_path / "fix").mkdir(exist_ok=True)
        oms = Oms(
            db, tmp_path, 0, checker=PassAll(), booker=RecordingBooker(), config=cfg, brokers=("SIM", "BRK2")
        )
        try:
            a = oms.create(draft(qty=100))[0]
            b = oms.create(replace(draft("ACC2", qty=200), broker="BRK2"))[0]
            oms.manager.route([a, b])
            assert oms.wait(a).status == "filled" and oms.wait(b).status == "filled"
            status = {st.broker: st for st in oms.gateway.status()}
            assert set(status) == {"SIM", "BRK2"} and all(st.logged_on for st in status.values())
            assert all(st.next_sender_seq > 1 and st.next_target_seq > 1 for st in status.values())
            with db.session() as s:
                brokers = dict(s.execute(select(Execution.order_id, Execution.broker).distinct()).all())
            assert brokers == {a: "SIM", b: "BRK2"}  # each order went to, and came back from, its broker
            assert oms.order(a).cum_qty + oms.order(b).cum_qty == Decimal(300)
        finally:
            oms.stop()
    db.dispose()
