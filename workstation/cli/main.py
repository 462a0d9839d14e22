"""`workstation`: the command line. One module per command group registers its subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from engine.errors import ImportValidationError, WorkstationError
from workstation.cli import (
    app,
    audit,
    broker_sim,
    compliance,
    db,
    demo,
    events,
    imports,
    oms,
    orders,
    rebalance,
    reconcile,
    report,
    users,
)

# One module per command group; each owns its subcommands.
GROUPS = (
    app,
    demo,
    db,
    imports,
    report,
    rebalance,
    compliance,
    audit,
    users,
    orders,
    oms,
    broker_sim,
    reconcile,
    events,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstation",
        description="SMA trader workstation: rebalance, check, route and reconcile separately managed accounts.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: $WORKSTATION_DB, else SQLite in the user data directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if not getattr(args, "func", None):
        args.func = app.cmd_desktop  # no command: open the desktop (one clear line without a display)
    try:
        return int(args.func(args) or 0)
    except ImportValidationError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{exc.source}: {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return 2
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
