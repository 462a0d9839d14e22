"""`workstation rebalance households [set]`: which households rebalance together, against what target."""

from __future__ import annotations

import argparse
from decimal import Decimal

from engine.rebalance.households import list_groups, set_group
from workstation.cli.args import amount
from workstation.cli.output import dumps, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def add_household_arguments(h: argparse.ArgumentParser) -> None:
    """`rebalance households [--json]` and `rebalance households set H --target MODEL|blend --user U`."""
    h.add_argument("--json", dest="households_json", action="store_true", help="print the groups as JSON")
    h.set_defaults(func=cmd_households)
    hsub = h.add_subparsers(dest="households_command", metavar="SUBCOMMAND")
    st = hsub.add_parser(
        "set",
        help="create or change a household group (needs models.edit)",
        description="The household's accounts then rebalance in one problem with `rebalance --households`.",
    )
    st.add_argument("household", metavar="H", help="household code")
    st.add_argument(
        "--target",
        required=True,
        metavar="MODEL|blend",
        help="a model code, or blend: the value-weighted blend of the accounts' models",
    )
    st.add_argument("--currency", metavar="CCY", help="reporting currency (default USD, or the one base)")
    st.add_argument(
        "--tax-budget",
        dest="group_tax_budget",
        type=amount,
        metavar="AMOUNT",
        help="cap on additional estimated tax this year, reporting currency",
    )
    st.add_argument(
        "--carry-forward", type=amount, default=0.0, metavar="AMOUNT", help="loss carry-forward (default 0)"
    )
    add_user_option(st)
    st.add_argument("--json", dest="set_json", action="store_true", help="print the group as JSON")
    st.set_defaults(func=cmd_household_set)


def cmd_households(args: argparse.Namespace) -> int:
    """List the household groups."""
    with open_store(args.db) as database, database.session() as s:
        groups = list_groups(s)
    if args.households_json:
        print(dumps({"households": groups}))
        return 0
    print(
        table(
            ["household", "target", "ccy", "tax budget", "carry-forward", "accounts"],
            [
                [
                    g["household"],
                    g["target"],
                    g["reporting_currency"],
                    "-" if g["tax_budget"] is None else f"{g['tax_budget']:,.0f}",
                    f"{g['carry_forward']:,.0f}",
                    ", ".join(f"{a['account']} ({a['tax_status']})" for a in g["accounts"]),
                ]
                for g in groups
            ],
            right={3, 4},
        )
    )
    print(f"{len(groups)} household group(s)")
    return 0


def cmd_household_set(args: argparse.Namespace) -> int:
    """Create or change one group; refused (exit 2, audited) without models.edit."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            out = set_group(
                s,
                user,
                args.household,
                args.target,
                currency=args.currency.upper() if args.currency else None,
                tax_budget=None if args.group_tax_budget is None else Decimal(str(args.group_tax_budget)),
                carry_forward=Decimal(str(args.carry_forward)),
            )
    if args.set_json:
        print(dumps(out))
    else:
        budget = "none" if out["tax_budget"] is None else f"{out['tax_budget']:,.2f}"
        print(
            f"household {out['household']}: target {out['target']}, {out['reporting_currency']}, "
            f"tax budget {budget}, carry-forward {out['carry_forward']:,.2f}"
        )
    return 0
