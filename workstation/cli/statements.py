"""`workstation statements --period 2026Q3 (--account X | --household H | --all) --out DIR --user U`:
quarterly client statements as PDF (docs/reports.md#statements), in bulk with progress on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.statements.run import BATCH, generate
from engine.statements.service import finish, plan, summary
from engine.store.database import Database
from workstation.cli.args import int_range
from workstation.cli.output import print_json
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import database_url, open_store, secret_box


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser(
        "statements",
        help="quarterly client statements as PDF (per account and per household)",
        description="Write one PDF per account (and per household for --household, or for --all every "
        "household of two or more accounts) into DIR: holdings by asset class, activity, gains, "
        "performance against the benchmark and charts, in the account's base currency and locale. An "
        "account with no holdings and no activity gets none (listed as skipped). Needs statements.generate.",
    )
    p.add_argument("--period", required=True, metavar="YYYYQn", help="the quarter, e.g. 2026Q3")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", action="append", metavar="CODE", help="an account (repeatable)")
    who.add_argument("--household", metavar="CODE", help="a household: its statement and its accounts'")
    who.add_argument("--all", action="store_true", help="every account, and every household of 2+ accounts")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the PDFs (made 0700)")
    p.add_argument("--locale", help="number and date format for every statement (default: the account's "
                   "jurisdiction's, e.g. de_DE for DE)")  # fmt: skip
    p.add_argument(
        "--workers", type=int_range(1, 64), default=min(4, os.cpu_count() or 1),
        help="worker processes drawing the PDFs (default: the cores, at most 4)",
    )  # fmt: skip
    p.add_argument(
        "--batch", type=int_range(1, 10000), default=BATCH, help=f"accounts per batch (default {BATCH})"
    )
    add_user_option(p)
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    p.set_defaults(func=cmd_statements)


def open_reader(url: str) -> Database:
    """The book as a worker process opens it: read only, no migration (the parent opened it first)."""
    return Database(database_url(url), secret_box=secret_box())


def cmd_statements(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user)
        with database.session() as session:
            period, jobs = plan(
                session, actor, args.period, args.out, args.account or (), args.household, args.all,
                args.locale, url=args.db or "", size=args.batch,
            )  # fmt: skip

        def progress(done: int, total: int) -> None:
            print(f"statements: {done}/{total} accounts", file=sys.stderr, flush=True)

        workers = 1 if len(jobs) <= 1 else args.workers
        results = generate(open_reader, jobs, workers, progress)
        doc = summary(period, results)
        scope = (args.household and f"household {args.household}") or (
            "all" if args.all else ",".join(args.account)
        )
        with database.transaction() as session:
            doc["manifest_sha256"] = finish(session, actor, period, args.out, doc, scope)
    failed = 1 if doc["failed"] else 0  # the others were written; the failures are listed
    if args.json:
        print_json(doc)
        return failed
    print(
        f"{doc['written']} statement(s) for {period.label} in {args.out} ({doc['pages']} pages); "
        f"{len(doc['skipped'])} skipped"
    )
    for s in doc["skipped"]:
        print(f"  skipped {s.get('account') or s.get('household')}: {s['skipped']}")
    for f in doc["failed"]:
        print(f"error: {f.get('account') or f.get('household')}: {f['failed']}", file=sys.stderr)
    return failed
