"""`workstation report tca`: the best-execution report (engine.tca) as text, --json, --csv or --xlsx.

The user signs in (`--user`) and needs tca.read (compliance, admin, trader). --csv FILE writes the
order lines to FILE and the aggregates beside it (FILE's stem + .by_broker.csv, .by_trader.csv);
--xlsx FILE writes one workbook with the sheets orders, by_broker, by_trader, total and about.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.reports.numbers import fmt_money
from engine.tca.report import tca_report
from workstation.cli.args import iso_date, output_file
from workstation.cli.output import print_json, table
from workstation.cli.report_composite import currency
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `report tca`."""
    t = kinds.add_parser(
        "tca",
        help="transaction cost analysis: the best-execution report per order, broker and trader",
        description="Implementation shortfall (positive = cost), slippage against the arrival price and "
        "the interval VWAP of the SIMULATED market's prints, fill rate and fees, per order and "
        "aggregated per broker and per trader (docs/oms.md, Transaction cost analysis).",
    )
    t.add_argument("--from", dest="start", type=iso_date, required=True, metavar="YYYY-MM-DD")
    t.add_argument("--to", dest="end", type=iso_date, required=True, metavar="YYYY-MM-DD")
    t.add_argument("--broker", metavar="B", help="only this broker's orders")
    t.add_argument("--trader", metavar="T", help="only this trader's orders")
    t.add_argument("--currency", type=currency, default="USD", help="base currency of the aggregates (USD)")
    add_user_option(t)
    out = t.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON (shape in docs/oms.md)")
    out.add_argument(
        "--csv", type=output_file, metavar="FILE", help="write CSV files (orders, per broker/trader)"
    )
    out.add_argument("--xlsx", type=output_file, metavar="FILE", help="write an Excel workbook")
    t.set_defaults(func=cmd_tca)


def _csv(doc: dict[str, Any], path: Path) -> list[Path]:
    from engine.tca.sheets import frames

    f = frames(doc)
    written = [path, path.with_suffix(".by_broker.csv"), path.with_suffix(".by_trader.csv")]
    for p, sheet in zip(written, ("orders", "by_broker", "by_trader"), strict=True):
        f[sheet].to_csv(p, index=False)
    return written


def _xlsx(doc: dict[str, Any], path: Path) -> list[Path]:
    import pandas as pd

    from engine.tca.sheets import frames

    with pd.ExcelWriter(path, engine="openpyxl") as w:
        for sheet, frame in frames(doc).items():
            frame.to_excel(w, sheet_name=sheet, index=False)
    return [path]


def _b(x: Decimal | None) -> str:
    return "" if x is None else f"{x:+.2f}"


def render(doc: dict[str, Any]) -> str:
    ccy = doc["currency"]
    lines = [
        f"Best execution {doc['from']} to {doc['to']}: {doc['total']['orders']} order(s), base {ccy}; "
        f"shortfall and slippage in bps, positive = cost; market: {doc['market']}"
    ]
    heads = ["orders", "notional", "shortfall", "IS bps", "vs arrival", "vs VWAP", "fill rate"]
    for key in ("broker", "trader"):
        rows = [
            (g[key] or "-", g["orders"], fmt_money(g["notional"], ccy), fmt_money(g["shortfall"], ccy),
             _b(g["shortfall_bps"]), _b(g["slippage_arrival_bps"]), _b(g["slippage_vwap_bps"]),
             "" if g["fill_rate"] is None else f"{g['fill_rate']:.2%}")
            for g in doc[f"by_{key}"]
        ]  # fmt: skip
        lines += ["", table([key, *heads], rows, right=set(range(1, 8)))]
    return "\n".join(lines)


def cmd_tca(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.session() as s:
            doc = tca_report(
                s, user, args.start, args.end, broker=args.broker, trader=args.trader, currency=args.currency
            )
    if args.json:
        print_json(doc)
    elif args.csv or args.xlsx:
        written = _csv(doc, args.csv) if args.csv else _xlsx(doc, args.xlsx)
        print(f"{doc['total']['orders']} order(s) written to {', '.join(str(p) for p in written)}")
    else:
        print(render(doc))
    return 0
