"""`workstation oms --headless`: route released orders over FIX and work them until all are final.

Sessions come from a standard QuickFIX settings file (`--fix-config`, else
<user config dir>/fix/sessions.cfg); store and logs live in <user data dir>/fix so sequence
numbers survive restarts. Exit status 0 when every order is final, 1 if any is still open
(orders waiting for compliance's approval count as open).

It routes only while it holds the routing lease of every session (engine.shared.lease), like a
desk's Connect: if another workstation or headless OMS holds one, it exits 2 naming the owner,
or with `--lease-wait S` waits as a standby for the owner's lease to expire (or be released).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import queue
import time
from pathlib import Path

from sqlalchemy import func, select

from engine.errors import ConfigurationError
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.post_trade import waiting as allocations_waiting
from engine.oms.status import AT_BROKER, OrderStatus
from engine.oms.tables import Order
from engine.shared.lease import owner_id
from engine.store.database import Database
from workstation.cli.args import input_file, seconds, wait_seconds
from workstation.cli.output import print_json
from workstation.compose import open_store, order_manager
from workstation.config import config_dir, data_dir

log = logging.getLogger(__name__)
ALLOCATION_GRACE = 10.0
"""Seconds the headless OMS waits, after every order is final, for the last allocations' acks."""
OPEN = (*AT_BROKER, OrderStatus.HELD, OrderStatus.RELEASED, OrderStatus.PENDING_APPROVAL)
"""Not final: at a broker, waiting to route, or waiting for compliance's approval."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "oms",
        help="route released orders over FIX and process execution reports (headless)",
        description="Route released orders (aggregated into blocks) over the configured FIX sessions "
        "and process execution reports until every order is final or the timeout passes. "
        "Exit status 1 if orders are still open at the timeout.",
    )
    p.add_argument("--headless", action="store_true", required=True, help="run without the desktop")
    p.add_argument("--fix-config", type=input_file, help="QuickFIX settings file (default: user config dir)")
    p.add_argument("--timeout", type=seconds, required=True, metavar="S", help="seconds to work orders")
    p.add_argument("--no-blocks", action="store_true", help="route account orders one by one")
    p.add_argument(
        "--outside-hours", action="store_true", help="send orders for closed markets now (broker accepts)"
    )
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.add_argument(
        "--lease-wait",
        type=wait_seconds,
        default=0.0,
        metavar="S",
        help="if another workstation routes a session, wait up to S seconds for its lease (standby)",
    )
    p.add_argument(
        "--lease-ttl",
        type=seconds,
        default=15.0,
        metavar="S",
        help="routing lease time to live (renewed every S/3)",
    )
    p.set_defaults(func=cmd_oms)


def default_fix_config() -> Path:
    return config_dir() / "fix" / "sessions.cfg"


def open_count(database: Database) -> int:
    with database.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Order)
                .where(Order.status.in_(OPEN), Order.parent_id.is_(None))
            )
            or 0
        )


def cmd_oms(args: argparse.Namespace) -> int:
    from connectors.credentials import KeyringCredentialStore
    from connectors.fix.gateway import FixGateway

    config = args.fix_config or default_fix_config()
    if not config.is_file():
        raise ConfigurationError(f"no FIX settings file at {config}: pass --fix-config FILE")
    database = open_store(args.db)
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    gateway = FixGateway(
        config,
        data_dir() / "fix",
        inbox,
        KeyringCredentialStore(),
        lease_db=database,
        lease_ttl=args.lease_ttl,
        lease_owner=owner_id(f"oms:{getpass.getuser()}"),
    )
    manager = order_manager(database, gateway=gateway)
    loop = OmsLoop(manager, inbox)
    try:
        gateway.start(lease_wait=args.lease_wait)  # LeaseHeld (exit 2) names the owner
        loop.run_until(lambda: all(gateway.is_logged_on(b) for b in gateway.brokers), min(args.timeout, 30))
        if not args.no_blocks:
            manager.build_blocks()
        manager.route(outside_hours=args.outside_hours)
        started = time.monotonic()
        done = loop.run_until(lambda: open_count(database) == 0, args.timeout)
        # The last blocks' AllocationInstructions went out with their last fills: give the brokers'
        # acks a moment (what is left is asked for again at the next start, engine.oms.progress).
        grace = min(ALLOCATION_GRACE, max(0.0, args.timeout - (time.monotonic() - started)))
        loop.run_until(lambda: allocations_waiting(database) == 0, grace)
        waiting = allocations_waiting(database)
        status = [s.__dict__ for s in gateway.status()]
        still_open = 0 if done else open_count(database)
    finally:
        gateway.stop()
        database.dispose()
    summary = {
        "all_final": done,
        "open_orders": still_open,
        "messages_applied": loop.applied,
        "duplicates_ignored": manager.duplicates,
        "alerts": manager.alerts,
        "allocations_waiting": waiting,
        "sessions": status,
    }
    if args.json:
        print_json(summary)
    else:
        for s in status:
            print(
                f"{s['broker']}: {'logged on' if s['logged_on'] else 'logged off'}, "
                f"next seq out {s['next_sender_seq']} in {s['next_target_seq']}"
            )
        print(
            f"{'all orders final' if done else str(summary['open_orders']) + ' order(s) still open'}; "
            f"{loop.applied} message(s) applied, {manager.duplicates} duplicate(s) ignored, {manager.alerts} alert(s)"
        )
    return 0 if done else 1
