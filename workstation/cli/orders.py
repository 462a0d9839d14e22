"""`workstation orders import FILE.csv`, `orders list [--json]`, `orders allocations [--status S]
[--json]`, `orders allocations resend ALLOCID --user U` and `orders rotation [--json]`."""

from __future__ import annotations

import argparse

from engine.errors import WorkstationError
from engine.oms.importer import import_orders
from engine.oms.listing import order_list
from engine.oms.rotation import fairness_log
from engine.state.allocations import ALLOC_INSTRUCTIONS
from engine.views.allocations import instruction_list
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
    al = osub.add_parser(
        "allocations",
        help="FIX allocation instructions (35=J) of blocks and the brokers' answers; re-send a rejected one",
        description="Every AllocationInstruction sent for a block: its status (pending, sent, acknowledged, "
        "accepted, rejected, replaced), accounts and quantities, and the broker's reason when rejected. "
        "`resend ALLOCID --user U` re-sends a rejected one after correction (AllocTransType Replace).",
    )
    al.add_argument("--status", choices=sorted(ALLOC_INSTRUCTIONS.statuses()), help="only this status")
    al.add_argument("--json", action="store_true")
    al.set_defaults(func=cmd_allocations)
    asub = al.add_subparsers(dest="allocations_command", metavar="ACTION")
    rs = asub.add_parser(
        "resend",
        help="re-send a rejected allocation instruction (needs orders.route; audited)",
        description="Makes a new instruction, AllocTransType Replace with RefAllocID = ALLOCID, with each "
        "account's AllocAccount read again from the book (a custodian account number loaded since) and "
        "--alloc-account corrections on top; the OMS holding the broker's FIX session sends it.",
    )
    rs.add_argument("alloc_id", metavar="ALLOCID")
    add_user_option(rs)
    rs.add_argument(
        "--alloc-account",
        action="append",
        default=[],
        metavar="ACCOUNT=ALLOCACCOUNT",
        help="send this AllocAccount for the book's ACCOUNT (repeatable)",
    )
    rs.add_argument("--json", action="store_true")
    rs.set_defaults(func=cmd_allocations_resend)
    rot = osub.add_parser(
        "rotation",
        help="the broker rotation's fairness log: per release, which broker and accounts traded first",
    )
    rot.add_argument("--symbol", help="only this security")
    rot.add_argument("--json", action="store_true")
    rot.set_defaults(func=cmd_rotation)


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


def cmd_allocations(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        rows = instruction_list(database, args.status)
    if args.json:
        print_json(rows)
        return 0
    print(
        table(
            ["alloc_id", "status", "type", "broker", "block", "symbol", "side", "quantity", "avg_px", "accounts", "reason"],
            [
                [
                    r["alloc_id"], r["status"], r["trans_type"], r["broker"], r["block"], r["symbol"], r["side"],
                    r["quantity"], r["avg_px"], len(r["allocs"]), r["reason"] or "",
                ]
                for r in rows
            ],
            right={7, 8, 9},
        )
    )  # fmt: skip
    return 0


def _corrections(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        account, sep, value = item.partition("=")
        if not sep or not account.strip() or not value.strip():
            raise WorkstationError(f"--alloc-account {item!r}: expected ACCOUNT=ALLOCACCOUNT")
        out[account.strip()] = value.strip()
    return out


def cmd_allocations_resend(args: argparse.Namespace) -> int:
    corrections = _corrections(args.alloc_account)
    with open_store(args.db) as database:
        manager = order_manager(database)
        user = sign_in(database, args.user)
        new_id = manager.resend_allocation(args.alloc_id, user, corrections)
        [row] = [r for r in instruction_list(database) if r["alloc_id"] == new_id]
    if args.json:
        print_json(row)
    else:
        print(
            f"{args.alloc_id} replaced by {new_id} ({row['status']}): the OMS holding the {row['broker']} "
            "session sends it"
        )
    return 0


def cmd_rotation(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        runs = fairness_log(s, args.symbol)
    if args.json:
        print_json(runs)
        return 0
    print(
        table(
            ["at", "symbol", "side", "position", "broker", "order", "accounts", "quantity"],
            [
                [r["at"], r["symbol"], r["side"], e["position"], e["broker"], e["cl_ord_id"],
                 ",".join(e["accounts"]), e["quantity"]]
                for r in runs for e in r["brokers"]
            ],
            right={3, 7},
        )
    )  # fmt: skip
    return 0
