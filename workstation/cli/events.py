"""`workstation events watch`: follow the shared change feed from a script (one line per change)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence

from engine.shared.feed import Change
from engine.shared.listener import ChangeListener
from workstation.cli.args import db_url, non_negative_int, seconds
from workstation.compose import database_url, open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("events", help="the shared change feed (several desks on one database)")
    esub = p.add_subparsers(dest="events_command", required=True)
    w = esub.add_parser(
        "watch",
        help="print each change to shared state as it is committed, until Ctrl-C or --timeout",
    )
    w.add_argument("--json", action="store_true", help="one JSON object per line (shape in docs/cli.md)")
    w.add_argument(
        "--since", type=non_negative_int, metavar="SEQ", help="first replay every change after sequence SEQ"
    )
    w.add_argument("--timeout", type=seconds, metavar="S", help="stop after S seconds (exit 0)")
    w.add_argument(
        "--db",
        type=db_url,
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (as the global --db)",
    )
    w.set_defaults(func=cmd_watch)


def _line(c: Change, as_json: bool) -> str:
    if as_json:
        return json.dumps(c.as_json(), separators=(",", ":"))
    ids = " ".join(f"{k}={v}" for k, v in c.ids.items())
    return f"{c.seq:>8}  {c.when:%Y-%m-%d %H:%M:%S.%f}  {c.type:<11} {c.action:<16} {c.state or '':<16} {c.who or ''}  {ids}"


def cmd_watch(args: argparse.Namespace) -> int:
    open_store(args.db).dispose()  # the schema must be current (and SQLite migrated)
    out = sys.stdout
    lock = threading.Lock()
    reader_gone = threading.Event()

    def on_changes(batch: Sequence[Change]) -> None:
        with lock:
            try:
                for c in batch:
                    out.write(_line(c, args.json) + "\n")
                out.flush()
            except BrokenPipeError:  # `events watch | head -1`: stop; main() ends quietly
                reader_gone.set()

    def on_state(online: bool, detail: str) -> None:
        print(f"events watch: {'online' if online else 'OFFLINE'}: {detail}", file=sys.stderr, flush=True)

    listener = ChangeListener(database_url(args.db), on_changes, on_state, since=args.since).start()
    try:
        reader_gone.wait(args.timeout)  # until --timeout, the reader goes away, or Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    if reader_gone.is_set():
        raise BrokenPipeError
    return 0
