"""`workstation activity`: load custodians' daily activity into the ledger, and list what was booked.

`load` parses every file first (a bad one refuses all, before any password is asked), then signs
`--user` in and books the files in one transaction (engine.activity.load: exactly once per line,
all or nothing); `list` only reads.
"""

from __future__ import annotations

import argparse
from typing import Any

from connectors.custodian.activity import read_activity_file
from connectors.custodian.profile import load_profile
from engine.activity.load import book_activity_file
from engine.activity.queries import list_activity
from engine.activity.rows import KINDS
from workstation.cli.args import input_file, iso_date
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("activity", help="custodian activity: trades away, income, fees, flows, transfers, FX")
    acts = p.add_subparsers(dest="activity_command", metavar="ACTION", required=True)

    ld = acts.add_parser(
        "load", help="book custodian activity files into the ledger (each line exactly once)"
    )
    ld.add_argument("files", nargs="+", type=input_file, metavar="FILE")
    ld.add_argument("--custodian", required=True, metavar="NAME", help="custodian name, e.g. SIM-CUSTODIAN-B")
    ld.add_argument(
        "--profile",
        type=input_file,
        help="TOML profile (default: resources/custodian/<name>.toml, else generic)",
    )
    add_user_option(ld)
    ld.add_argument("--json", action="store_true", help="what each file booked, as JSON (docs/reconcile.md)")
    ld.set_defaults(func=cmd_load)

    ls = acts.add_parser("list", help="booked activity lines, filtered")
    ls.add_argument("--account", metavar="A")
    ls.add_argument("--from", dest="start", type=iso_date, metavar="D", help="trade date on or after")
    ls.add_argument("--to", dest="end", type=iso_date, metavar="D", help="trade date on or before")
    ls.add_argument("--kind", choices=KINDS, metavar="K", help=f"one of {', '.join(KINDS)}")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)


def cmd_load(args: argparse.Namespace) -> int:
    """Parse all, sign in, book all in one transaction (a refused file refuses the command)."""
    database = open_store(args.db)
    profile = load_profile(args.profile) if args.profile else None
    parsed = [read_activity_file(path, args.custodian, profile) for path in args.files]
    user = sign_in(database, args.user)
    with database.transaction() as session:
        results = [
            book_activity_file(
                session, p, custodian=args.custodian, username=user, source_name=p.source_name,
                content_hash=p.content_hash,
            )
            for p in parsed
        ]  # fmt: skip
    if args.json:
        print_json({"custodian": args.custodian, "files": [r.as_dict() for r in results]})
        return 0
    for r in results:
        if r.already_loaded:
            print(f"{r.source_name}: already loaded (unchanged) [file {r.file_id}]")
            continue
        kinds = ", ".join(f"{n} {k}" for k, n in r.counts.items()) or "nothing new"
        skipped = f"; {r.skipped} line(s) booked before, skipped" if r.skipped else ""
        print(
            f"{r.source_name}: {r.custodian}: booked {r.booked} of {r.lines} line(s) ({kinds}){skipped} [file {r.file_id}]"
        )
    return 0


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def cmd_list(args: argparse.Namespace) -> int:
    """Print booked lines (trade date order)."""
    database = open_store(args.db)
    with database.session() as session:
        lines = list_activity(session, account=args.account, start=args.start, end=args.end, kind=args.kind)
    if args.json:
        print_json(lines)
        return 0
    if not lines:
        print("no activity booked for these filters")
        return 0
    headers = [
        "date",
        "account",
        "kind",
        "custodian",
        "reference",
        "security",
        "quantity",
        "currency",
        "amount",
        "flow",
    ]
    rows = [
        [ln["trade_date"], ln["account"], ln["kind"], ln["custodian"], ln["reference"], _cell(ln["security"]),
         _cell(ln["quantity"]), _cell(ln["currency"]), _cell(ln["amount"]), "yes" if ln["external"] else ""]
        for ln in lines
    ]  # fmt: skip
    print(table(headers, rows, right={6, 8}))
    return 0
