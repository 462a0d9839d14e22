"""`workstation retention`: the retention policy (how long each kind of record is kept), and the
purge of what has expired (audit entries under a signed checkpoint; docs/compliance.md).

`policy` only reads; `set` and `purge` sign their `--user` in (an admin: `retention.policy`,
`retention.purge`). FIX files listed by a purge are deleted after its transaction commits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.retention.kinds import BY_CODE
from engine.retention.policy import periods, set_period
from engine.retention.purge import purge, remove_files
from workstation.cli.args import int_range, iso_date
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import audit_signer, audit_verifier, open_store
from workstation.config import data_dir


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("retention", help="how long records are kept, and the purge of expired ones")
    g = p.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    pol = g.add_parser("policy", help="the period of every record kind")
    pol.add_argument("--json", action="store_true", help="print as JSON")
    pol.set_defaults(func=cmd_policy)

    st = g.add_parser("set", help="change a record kind's period (admin; audited)")
    st.add_argument(
        "kind", choices=sorted(BY_CODE), metavar="KIND", help="record kind (see `retention policy`)"
    )
    st.add_argument(
        "--months", type=int_range(1, 1200), required=True, help="period in months (84 = 7 years)"
    )
    st.add_argument("--reason", required=True, help="why (kept in the audit log)")
    add_user_option(st)
    st.add_argument("--json", action="store_true", help="print the new period as JSON")
    st.set_defaults(func=cmd_set)

    pu = g.add_parser(
        "purge",
        help="delete records past their period and before a date (admin; audited)",
        description="Delete, in one transaction, every record dated before --before whose kind's period has "
        "passed, never anything still open (a live order, an open case or proposal, an unresolved break). "
        "The oldest audit entries go under a checkpoint signed with the firm's key from the OS keychain, "
        "so `audit verify` still accepts the chain. --dry-run counts and writes nothing.",
    )
    pu.add_argument("--before", type=iso_date, required=True, help="nothing dated on or after this day goes")
    add_user_option(pu)
    pu.add_argument("--dry-run", action="store_true", help="count what would go; write nothing")
    pu.add_argument(
        "--fix-dir",
        action="append",
        type=Path,
        metavar="DIR",
        help="a FIX store or log folder (repeatable; default: the data folder's fix/store and fix/log)",
    )
    pu.add_argument("--json", action="store_true", help="print the result as JSON")
    pu.set_defaults(func=cmd_purge)


def cmd_policy(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = [p.as_dict() for p in periods(s).values()]
    if args.json:
        print_json({"kinds": rows})
        return 0
    print(
        table(
            ["kind", "months", "default", "changed by", "what"],
            [(r["kind"], r["months"], r["default_months"], r["changed_by"] or "", r["title"]) for r in rows],
            right={1, 2},
        )
    )
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            period = set_period(s, user, args.kind, args.months, args.reason)
    if args.json:
        print_json(period.as_dict())
    else:
        print(f"{period.kind}: kept {period.months} months")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    dirs = args.fix_dir or [data_dir() / "fix" / "store", data_dir() / "fix" / "log"]
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            result = purge(
                s, user, args.before, signer=audit_signer, verifier=audit_verifier,
                fix_dirs=dirs, dry_run=args.dry_run,
            )  # fmt: skip
    failed = [] if args.dry_run else remove_files(result.files)
    if args.json:
        print_json({**result.as_dict(), "files_not_removed": failed})
    else:
        verb = "would delete" if args.dry_run else "deleted"
        rows = [(k.kind, k.cutoff.isoformat(), t, n) for k in result.kinds for t, n in k.rows.items() if n]
        if rows:
            print(table(["kind", "cut-off", "table", "rows"], rows, right={3}))
        print(f"{verb} {result.total()} records (before {args.before}, each kind past its period)")
        if result.checkpoint:
            cp = result.checkpoint
            what = "would be purged" if args.dry_run else f"purged under signed checkpoint {cp.get('id')}"
            print(f"audit entries {cp['first_id']}-{cp['last_id']} ({cp['count']}) {what}")
    for line in failed:
        print(f"error: {line}", file=sys.stderr)
    return 1 if failed else 0
