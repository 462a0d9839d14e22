"""`workstation day close|status`: the day cycle (engine.daycycle, docs/daycycle.md).

`day close --date D --user U` signs U in (password from $WORKSTATION_PASSWORD or a prompt) and
runs the seven steps for D with a progress line per step on stderr; `--json` prints the summary
{"date", "status", "steps": [{"name", "status", "counts", "exceptions", ...}]}. Exit 0 when the
date is closed, 1 when a step failed (closing the date again resumes there). `day status` only reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.daycycle.cycle import DayResult, close_day, day_status
from workstation.cli.args import iso_date
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import default_inbox, inbox_kinds, open_store

FAILED_EXIT = 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser(
        "day", help="the day cycle: close a date (inbox, book, settle, value, reconcile, drift)"
    )
    ds = p.add_subparsers(dest="day_command", metavar="ACTION", required=True)
    c = ds.add_parser(
        "close", help="close a date: load the inbox, book, settle, revalue, store, reconcile, drift"
    )
    c.add_argument("--date", dest="day", type=iso_date, required=True, help="the date to close (YYYY-MM-DD)")
    add_user_option(c)
    c.add_argument(
        "--inbox",
        type=Path,
        metavar="DIR",
        help="the inbox folder (default: inbox/ in the user data directory)",
    )
    c.add_argument("--rerun", action="store_true", help="run every step again (a closed or an earlier date)")
    c.add_argument("--json", action="store_true", help="print the summary as JSON (docs/daycycle.md)")
    c.set_defaults(func=cmd_close)
    st = ds.add_parser("status", help="what the close of a date did (default: the latest)")
    st.add_argument("--date", dest="day", type=iso_date, help="the date (default: the latest with a run)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_close(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    user = sign_in(database, args.user)
    inbox = args.inbox or default_inbox()
    result = close_day(database, args.day, user, inbox=inbox, kinds=inbox_kinds(), rerun=args.rerun,
                       progress=_progress)  # fmt: skip
    _show(result, args.json)
    return 0 if result.status == "closed" else FAILED_EXIT


def cmd_status(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    _show(day_status(database, args.day), args.json)
    return 0


def _show(result: DayResult, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    print(f"{result.day}: {result.status}" + (f" ({result.note})" if result.note else ""))
    rows = []
    for st in result.steps:
        counts = ", ".join(f"{k} {v}" for k, v in st["counts"].items() if isinstance(v, int | float | str))
        rows.append([st["name"], st["status"], len(st["exceptions"]), counts])
    if rows:
        print(table(["step", "status", "exceptions", "counts"], rows, right={2}))
    for st in result.steps:
        for e in st["exceptions"][:20]:
            print(f"  {st['name']}: {_exception_line(e)}")
        if len(st["exceptions"]) > 20:
            print(f"  {st['name']}: ... {len(st['exceptions']) - 20} more (see --json)")


def _exception_line(e: dict[str, object]) -> str:
    if e.get("kind") == "refused_file":
        problems = e.get("problems") or []
        first = problems[0] if isinstance(problems, list) and problems else {}
        where = f"row {first.get('row')}, {first.get('field')}: {first.get('reason')}" if first else ""
        return f"refused {e.get('file')} ({len(problems) if isinstance(problems, list) else 0} problem(s)); {where}"
    return str(e.get("reason") or e)
