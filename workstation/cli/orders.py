"""`workstation orders import FILE.csv` and `workstation orders list [--json]`."""

from __future__ import annotations

import argparse

from engine.oms.importer import import_orders
from engine.oms.listing import order_list
from workstation.cli.args import input_file
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store, order_manager


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("orders", help="import and list orders")
    osub = p.add_subparsers(dest="orders_command", metavar="ACTION", required=True)
    imp = osub.add_parser(
        "import",
        help="create orders from a CSV and run them through compliance (all-or-nothing)",
        description="Columns: account, symbol, side, quantity, order_type, limit_price, time_in_force, "
        "broker (a FIX session's TargetCompID). Orders that pass compliance are released; flagged ones "
        "wait for approval. Any bad row: every problem is printed and nothing is written. "
        "--user signs in: the orders are theirs, and compliance checks run under their permissions.",
    )
    add_user_option(imp)
    imp.add_argument("file", type=input_file, metavar="FILE.csv")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)
    lst = osub.add_parser("list", help="every order with status and quantities; blocks with children")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)


def cmd_import(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        manager = order_manager(database)
        user = sign_in(database, args.user)
        result = import_orders(manager, args.file, user)
    if args.json:
        print_json(result.as_dict())
    else:
        print(
            f"{args.file.name}: {len(result.order_ids)} order(s) created: {result.released} released, "
            f"{result.pending_approval} waiting for approval, {result.rejected} rejected by compliance"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = order_list(s)
    if args.json:
        print_json(rows)
        return 0
    flat = []
    for r in rows:
        flat.append(r)
        flat.extend(r.get("children", []))
    print(
        table(
            ["id", "cl_ord_id", "account", "symbol", "side", "status", "order_qty", "cum_qty", "leaves_qty", "avg_px"],
            [
                [
                    r["id"], r["cl_ord_id"], r["account"] or "(block)", r["symbol"], r["side"], r["status"],
                    r["order_qty"], r["cum_qty"], r["leaves_qty"], r["avg_px"],
                ]
                for r in flat
            ],
            right={6, 7, 8, 9},
        )
    )  # fmt: skip
    return 0
