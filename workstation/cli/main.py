"""`workstation`: the command line. One module per command group registers its subcommands."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from sqlalchemy.exc import OperationalError

from engine.errors import ImportValidationError, WorkstationError
from workstation.cli.args import USAGE_EXIT, CliParser, db_url

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
    "activity": "activity",
    "corporate": "corporate",
    "events": "events",
    "model": "model",
    "retention": "retention",
    "client": "client",
    "day": "day",
    "statements": "statements",
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
    parser = CliParser(
        prog="workstation",
        description="SMA trader workstation: rebalance, check, route and reconcile separately managed accounts.",
    )
    parser.add_argument(
        "--db",
        type=db_url,
        metavar="URL",
        help="SQLAlchemy database URL (default: $WORKSTATION_DB, else SQLite in the user data directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [COMMANDS[only]] if only else GROUPS:
        _group(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status. Problems are one `error: ...` line each on stderr, never a
    traceback: 2 for a refused command line, a missing or unreadable path, or a refused action."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(_invoked_command(argv))
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help (0) or a refused command line (2, already printed)
            return exc.code if isinstance(exc.code, int) else USAGE_EXIT
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
        if not getattr(args, "func", None):
            args.func = _group(
                "app"
            ).cmd_desktop  # no command: open the desktop (one clear line without a display)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except ImportValidationError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"{exc.source}: {len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return USAGE_EXIT
    except WorkstationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    except OSError as exc:  # a path that vanished, a folder where a file was meant, no permission
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return USAGE_EXIT
    except OperationalError as exc:  # the database cannot be opened or reached
        print(f"error: database: {str(exc.orig).splitlines()[0] if exc.orig else exc}", file=sys.stderr)
        return USAGE_EXIT


SIGPIPE_EXIT = 141  # 128 + SIGPIPE, what `yes | head -1` reports for `yes`


def _closed_pipe() -> int:
    """The reader went away (`workstation ... | head -1`): stop quietly. Point stdout at /dev/null
    so the interpreter's final flush does not print a second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return SIGPIPE_EXIT


def _os_error(exc: OSError) -> str:
    """`PATH: reason` from an OSError, without Python's errno prefix."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    return f"{exc.filename}: {reason.lower() if reason[:1].isupper() else reason}"


if __name__ == "__main__":
    sys.exit(main())
