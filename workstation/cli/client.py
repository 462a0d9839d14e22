"""`workstation client export`: everything the book holds about one client, on request (a household
or an account: CSV files and a manifest with each file's SHA-256). Needs `client.export`
(compliance, admin); audited."""

from __future__ import annotations

import argparse

from engine.retention.export import export_client
from workstation.cli.args import output_dir
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("client", help="a client's data: export on request")
    g = p.add_subparsers(dest="client_command", metavar="ACTION", required=True)
    ex = g.add_parser(
        "export",
        help="write everything about one client into a folder (audited)",
        description="Accounts, holdings, lots, gains, cash, orders, executions, proposals, cases, "
        "reconciliation records and the audit entries naming them, one CSV per table, with "
        "manifest.json giving each file's rows and SHA-256. The folder must be new or empty.",
    )
    ex.add_argument("--client", required=True, metavar="ID", help="a household code, or an account code")
    ex.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="a new or empty folder")
    add_user_option(ex)
    ex.add_argument("--json", action="store_true", help="print the manifest as JSON")
    ex.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            result = export_client(s, user, args.client, args.out)
    if args.json:
        print_json({"out": str(result.out), "manifest_sha256": result.manifest_sha256, **result.manifest})
        return 0
    m = result.manifest
    print(
        table(
            ["file", "rows", "sha256"],
            [(f["file"], f["rows"], f["sha256"][:16]) for f in m["files"]],
            right={1},
        )
    )
    print(f"{m['kind']} {m['client']} ({', '.join(m['accounts'])}) exported to {result.out}")
    return 0
