"""Day orders expire at the market's close; several brokers at once with per-broker status.
The simulators run in their own processes like everywhere else."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from connectors.fix.config import DEFAULTS, dictionary_path
from engine.oms.tables import Execution
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, Sim, draft
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


def test_day_order_expires_at_the_close(tmp_path: Path) -> None:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    # The simulator's clock starts 20 s before Nasdaq's 21:00 UTC close once it is ready.
    sim = Sim(tmp_path, "--fill-parts", "0", "--now", "2026-11-23T20:59:40+00:00").ready()
    oms = None
    try:
        oms = Oms(db, tmp_path, sim.port, checker=PassAll(), booker=RecordingBooker())
        [day] = oms.create(draft(qty=100))
        [gtc] = oms.create(draft(qty=100, time_in_force="gtc"))
        oms.manager.route([day, gtc])
        o = oms.wait(day, timeout=60)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("expired", 0, 0)
        assert oms.order(gtc).status == "new"
    finally:
        if oms is not None:
            oms.stop()
        sim.stop()
        db.dispose()


def test_two_brokers_at_once_with_status(tmp_path: Path) -> None:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    fast = ("--fill-parts", "1", "--ignore-market-hours")
    sims = [Sim(tmp_path, *fast), Sim(tmp_path, *fast, "--comp-id", "BRK2")]
    p1, p2 = (x.ready().port for x in sims)
    try:
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
    finally:
        for x in sims:
            x.stop()
        db.dispose()
