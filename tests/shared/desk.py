"""A trader's workstation process for the routing-lease test: `python -m tests.shared.desk ...`.

Prints one JSON line per step. With --stuck N it routes, then routes N more orders and stops
dead between their commit and their send (as a desk that dies mid-route), waiting to be killed.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from pathlib import Path

from connectors.fix.gateway import FixGateway
from engine.clock import ManualClock
from engine.oms.loop import OmsLoop
from engine.oms.router import Router
from engine.oms.status import FINAL
from engine.oms.tables import Order
from engine.shared.errors import LeaseHeld
from engine.store.database import Database
from tests.connectors.fix.harness import OPEN
from tests.engine.oms.book import PassAll, RecordingBooker, make_oms


def say(**kw: object) -> None:
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--fix-dir", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--ttl", type=float, default=3.0)
    ap.add_argument("--wait", type=float, default=60.0)
    ap.add_argument("--route", type=int, default=0, help="route this many released orders")
    ap.add_argument("--stuck", type=int, default=0, help="then commit this many more and die before sending")
    args = ap.parse_args()
    db = Database(args.db)
    inbox: queue.SimpleQueue = queue.SimpleQueue()  # type: ignore[type-arg]
    gw = FixGateway(args.config, args.fix_dir, inbox, lease_db=db, lease_ttl=args.ttl, lease_owner=args.name)
    try:
        gw.start()
    except LeaseHeld as exc:
        say(event="refused", message=str(exc), owner=exc.owner)
        gw.start(lease_wait=args.wait)
    say(event="leased", owner=gw.lease_owner("SIM"))
    stuck = [False]

    def checkpoint(point: str) -> None:
        if point == "after_commit" and stuck[0]:
            say(event="stuck")
            time.sleep(3600)  # dead between commit and send until kill -9

    Router.checkpoint = staticmethod(checkpoint)  # type: ignore[method-assign]  # test seam
    m = make_oms(db, gateway=gw, checker=PassAll(), booker=RecordingBooker(), clock=ManualClock(OPEN))
    loop = OmsLoop(m, inbox, tick_every=0.1)
    assert loop.run_until(lambda: gw.is_logged_on("SIM"), 30), "no logon"
    say(event="logged_on")
    with db.session() as s:
        released = list(
            s.scalars(
                Order.__table__.select()
                .with_only_columns(Order.id)
                .where(Order.status == "released")
                .order_by(Order.id)
            )
        )
    if args.route:
        m.route(released[: args.route], outside_hours=True)
        loop.run_until(lambda: False, 1.0)
        say(event="routed", orders=released[: args.route])
    if args.stuck:
        stuck[0] = True
        m.route(released[args.route : args.route + args.stuck], outside_hours=True)

    def all_final() -> bool:
        with db.session() as s:
            return set(s.scalars(Order.__table__.select().with_only_columns(Order.status))) <= set(FINAL)

    done = loop.run_until(all_final, 60)
    with db.session() as s:
        statuses = dict(
            s.execute(Order.__table__.select().with_only_columns(Order.cl_ord_id, Order.status)).all()
        )
    say(event="done", all_final=done, statuses=statuses, duplicates=m.duplicates)
    gw.stop(force=True)


if __name__ == "__main__":
    main()
