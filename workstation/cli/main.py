"""`workstation`: the command line. One module per command group registers its subcommands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from engine.errors import ImportValidationError, WorkstationError

# Top-level command -> the module of workstation/cli that registers it (one module per group).
# Only the invoked command's module is imported, so `workstation db info` does not pay for Qt or cvxpy.
COMMANDS: dict[str, str] = {
    "desktop": "app",
    "screenshot": "app",
    "demo": "demo",
    "db": "db",
    "import": "imports",
    "report": "report",
    "rebalance": "rebalance",
    "compliance": "compliance",
    "audit": "audit",
    "users": "users",
    "orders": "orders",
    "oms": "oms",
    "broker-sim": "broker_sim",
    "reconcile": "reconcile",
    "events": "events",
    "model": "model",
}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


def _group(name: str) -> ModuleType:
    return importlib.import_module(f"workstation.cli.{name}")


def _invoked_command(argv: Sequence[str]) -> str | None:
    """The first positional word (skipping top-level options and --db's value), if it names a command."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser; with `only`, just that command's group is imported and registered."""
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
    for name in [COMMANDS[only]] if only else GROUPS:
        _group(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_invoked_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if not getattr(args, "func", None):
        args.func = _group(
            "app"
        ).cmd_desktop  # no command: open the desktop (one clear line without a display)
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
