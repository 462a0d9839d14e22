"""`workstation rebalance exceptions [--all] [--json]`, `... exceptions sign-off|deny ID --user U --reason R`."""

from __future__ import annotations

import argparse

from engine.rebalance.exceptions import decide, list_exceptions, scan
from workstation.cli.args import record_id
from workstation.cli.output import dumps, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(rsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebalance exceptions` and its sign-off / deny subcommands."""
    e = rsub.add_parser(
        "exceptions",
        help="the exception queue: proposals over a limit wait for a PM's sign-off before they can be accepted",
        description="Lists open exceptions (--all: every one). Limits are data: "
        "resources/rebalance/exception_limits.csv. `sign-off` or `deny` needs rebalance.exceptions.sign_off "
        "and a PM other than the proposal's creator.",
    )
    e.add_argument("--all", dest="exc_all", action="store_true", help="signed-off and denied ones too")
    e.add_argument("--scan", dest="exc_scan", metavar="NAME",
                   help="first queue proposals stored before their limit existed (NAME signs in; rebalance.run)")  # fmt: skip
    e.add_argument("--json", dest="exc_json", action="store_true", help="print the queue as JSON")
    e.set_defaults(func=cmd_list)
    esub = e.add_subparsers(dest="exceptions_command", metavar="SUBCOMMAND")
    for name, decision in (("sign-off", "sign_off"), ("deny", "deny")):
        d = esub.add_parser(
            name, help=f"{name} an exception (needs rebalance.exceptions.sign_off; four eyes)"
        )
        d.add_argument("exception", type=record_id, metavar="ID", help="exception id")
        add_user_option(d)
        d.add_argument("--reason", required=True, help="recorded in the audit log")
        d.add_argument("--json", dest="exc_json", action="store_true", help="print the outcome as JSON")
        d.set_defaults(func=cmd_decide, decision=decision)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the queue."""
    with open_store(args.db) as database:
        if args.exc_scan:
            user = sign_in(database, args.exc_scan)
            from engine.access.guard import require
            from engine.access.permissions import Permission

            with database.transaction() as s:
                require(s, user, Permission.REBALANCE_RUN)
                scan(s, user)
        with database.session() as s:
            rows = list_exceptions(s, None if args.exc_all else "open")
    if args.exc_json:
        print(dumps({"exceptions": rows}))
        return 0
    print(table(["id", "proposal", "account", "limit", "status", "created by", "decided by", "detail"],
                [[r["id"], r["proposal"], r["account"], r["code"], r["status"], r["created_by"],
                  r["decided_by"] or "", r["detail"]] for r in rows]))  # fmt: skip
    print(f"{len(rows)} exception(s)")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Sign off or deny one exception."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            status = decide(s, user, args.exception, args.decision, args.reason)
    if args.exc_json:
        print(dumps({"id": args.exception, "status": status}))
    else:
        print(f"exception {args.exception}: {status.replace('_', ' ')}")
    return 0
