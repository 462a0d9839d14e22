"""`workstation broker-sim --port P [--fix-version V]`: run the SIMULATED executing broker (a FIX 4.2,
4.4 or 5.0 SP2 over FIXT.1.1 acceptor)."""

from __future__ import annotations

import argparse
from datetime import datetime

from connectors.broker_sim.faults import SimSettings
from connectors.broker_sim.markets import SimClock
from connectors.broker_sim.prices import last_prices
from connectors.broker_sim.server import serve
from connectors.fix.versions import VERSIONS, version
from engine.errors import ConfigurationError
from workstation.cli.args import (
    clock_speed,
    fill_parts,
    fraction,
    non_negative_int,
    output_dir,
    output_file,
    port,
    seed,
    wait_seconds,
)
from workstation.config import data_dir, resolve_db_url


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "broker-sim",
        help="run the SIMULATED broker (FIX 4.2, 4.4 or 5.0 SP2 acceptor on 127.0.0.1) for the demo and tests",
        description="A simulated executing broker: acknowledges, fills in parts near the book's last "
        "prices, honours market hours, supports cancel and cancel/replace, and injects faults on request. "
        "Not a real broker.",
    )
    p.add_argument("--port", type=port, required=True, help="TCP port to listen on")
    p.add_argument(
        "--comp-id",
        default="SIM",
        help="the simulator's SenderCompID (default SIM); several, comma-separated, make it several "
        "brokers in one process, each in its definition's FIX version",
    )
    p.add_argument(
        "--fix-version",
        choices=sorted(VERSIONS),
        help="FIX version of its sessions (5.0SP2 runs over FIXT.1.1); default: the --comp-id broker's "
        "definition in resources/reference/brokers.csv, else FIX.4.4",
    )
    p.add_argument("--clients", default="WS", help="comma-separated TargetCompIDs it accepts (default WS)")
    p.add_argument(
        "--state-dir", type=output_dir, help="store and logs (default: user data dir/broker-sim/PORT)"
    )
    p.add_argument("--fill-parts", type=fill_parts, default=3, help="partial fills per order; 0 never fills")
    p.add_argument("--fill-interval", type=wait_seconds, default=0.2, help="seconds between fills")
    p.add_argument("--reject-rate", type=fraction, default=0.0, help="fraction of new orders rejected")
    p.add_argument(
        "--drop-after",
        type=non_negative_int,
        default=0,
        help="drop the connection once after N messages sent",
    )
    p.add_argument("--delay", type=wait_seconds, default=0.0, help="seconds before acknowledging an order")
    p.add_argument("--unsolicited-cancel-rate", type=fraction, default=0.0, help="cancel after first fill")
    p.add_argument("--duplicate-rate", type=fraction, default=0.0, help="send execution reports twice")
    p.add_argument("--race-cancel", action="store_true", help="fill half of what is left on a cancel")
    p.add_argument("--reject-cancels", action="store_true", help="reject every cancel and replace")
    p.add_argument("--ignore-market-hours", action="store_true", help="fill at any time, never expire")
    p.add_argument("--now", help="start the simulated clock at this ISO instant (with a zone)")
    p.add_argument("--clock-speed", type=clock_speed, default=1.0, help="simulated seconds per real second")
    p.add_argument("--prices-from-db", action="store_true", help="fill near the book's last closes (--db)")
    p.add_argument("--seed", type=seed, default=7)
    p.add_argument(
        "--unknown-alloc-accounts",
        default="",
        metavar="A,B",
        help="AllocAccounts the broker does not know: an AllocationInstruction naming one is rejected",
    )
    p.add_argument(
        "--reject-allocs", type=non_negative_int, default=0, metavar="N",
        help="reject the first N AllocationInstructions at block level",
    )  # fmt: skip
    p.add_argument("--ignore-allocs", action="store_true", help="never answer an AllocationInstruction")
    p.add_argument("--journal", type=output_file, help="append one JSON line per order event (for tests)")
    p.set_defaults(func=cmd_broker_sim)


def cmd_broker_sim(args: argparse.Namespace) -> int:
    start = None
    if args.now:
        start = datetime.fromisoformat(args.now)
        if start.tzinfo is None:
            raise ConfigurationError("--now needs a time zone, e.g. 2026-11-23T14:29:00+00:00")
    settings = SimSettings(
        fill_parts=args.fill_parts,
        fill_interval=args.fill_interval,
        reject_rate=args.reject_rate,
        drop_after=args.drop_after,
        delay=args.delay,
        unsolicited_cancel_rate=args.unsolicited_cancel_rate,
        duplicate_rate=args.duplicate_rate,
        race_cancel=args.race_cancel,
        reject_cancels=args.reject_cancels,
        market_hours=not args.ignore_market_hours,
        seed=args.seed,
        unknown_alloc_accounts=frozenset(
            a.strip() for a in args.unknown_alloc_accounts.split(",") if a.strip()
        ),
        reject_allocs=args.reject_allocs,
        ignore_allocs=args.ignore_allocs,
    )
    prices = last_prices(resolve_db_url(args.db)) if args.prices_from_db else {}
    state = args.state_dir or data_dir() / "broker-sim" / str(args.port)
    serve(
        args.port,
        args.comp_id,
        [c.strip() for c in args.clients.split(",") if c.strip()],
        state,
        settings,
        prices,
        SimClock(start, args.clock_speed),
        args.journal,
        version=version(args.fix_version, "--fix-version") if args.fix_version else None,
    )
    return 0
