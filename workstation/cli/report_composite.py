"""`report household-performance` and `report composite`: a household as one portfolio, and the
GIPS-style composite of the accounts on a model (shapes in docs/reports.md)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from engine.model.currency import minor_units
from engine.reports.numbers import fmt_money, fmt_percent
from engine.reports.scope import book_as_of
from workstation.cli.args import iso_date
from workstation.cli.output import print_json, table
from workstation.compose import open_store


def currency(text: str) -> str:
    """An ISO 4217 code the workstation knows."""
    code = text.strip().upper()
    try:
        minor_units(code)
    except Exception:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 4217 currency code") from None
    if len(code) != 3 or not code.isalpha():
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 4217 currency code")
    return code


def _range(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        dest="start",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="range start (default: a year before --to)",
    )
    p.add_argument(
        "--to",
        dest="end",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="range end (default: the book's as-of date)",
    )
    p.add_argument(
        "--period",
        choices=("M", "Q", "Y"),
        default="M",
        help="returns per month, quarter or year (default M)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (shape in docs/reports.md)")


def register(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    h = kinds.add_parser(
        "household-performance",
        help="a household's accounts as one portfolio: time-weighted return by period",
    )
    h.add_argument("--household", required=True, metavar="CODE")
    h.add_argument(
        "--currency",
        type=currency,
        help="reporting currency (default: the base currency holding the most value)",
    )
    _range(h)
    h.set_defaults(func=cmd_household)
    c = kinds.add_parser(
        "composite", help="GIPS-style composite of the accounts on a model: asset-weighted, with dispersion"
    )
    c.add_argument("--model", required=True, metavar="CODE")
    c.add_argument("--currency", type=currency, default="USD", help="composite currency (default USD)")
    _range(c)
    c.set_defaults(func=cmd_composite)


def cmd_household(args: argparse.Namespace) -> int:
    from engine.reports.composite import household_performance

    with open_store(args.db) as database, database.session() as session:
        end = args.end or book_as_of(session)
        doc = household_performance(
            session, args.household, args.start or end - timedelta(days=365), end, args.currency, args.period
        )
    if args.json:
        print_json(doc)
        return 0
    ccy = doc["currency"]
    print(
        f"Household {doc['household']} in {ccy}, {doc['from']} to {doc['to']} (time-weighted, daily, end-of-day flows)"
    )
    print(
        f"value {fmt_money(doc['start_value'], ccy)} -> {fmt_money(doc['end_value'], ccy)} {ccy}; "
        f"net flows {fmt_money(doc['net_flows'], ccy)} {ccy}; return {fmt_percent(doc['twr'])}"
    )
    print(
        table(
            ["period", "return"], [(p["period"], fmt_percent(p["return"])) for p in doc["periods"]], right={1}
        )
    )
    rows = [
        (a["account"], a["base_currency"], fmt_percent(a["twr"]), fmt_percent(a["twr_in_currency"]),
         fmt_money(a["end_value"], ccy))
        for a in doc["accounts"]
    ]  # fmt: skip
    print(
        table(
            ["account", "base", "return (base)", f"return ({ccy})", f"end value ({ccy})"],
            rows,
            right={2, 3, 4},
        )
    )
    return 0


def cmd_composite(args: argparse.Namespace) -> int:
    from engine.reports.composite import composite_report

    with open_store(args.db) as database, database.session() as session:
        end = args.end or book_as_of(session)
        doc = composite_report(
            session, args.model, args.start or end - timedelta(days=365), end, args.currency, args.period
        )
    if args.json:
        print_json(doc)
        return 0
    ccy = doc["currency"]
    print(
        f"Composite of model {doc['model']} in {ccy}, {doc['from']} to {doc['to']}: {doc['accounts']} accounts, "
        f"return {fmt_percent(doc['composite_return'])} (asset-weighted by each {doc['period']}'s beginning value)"
    )
    rows = [
        (p["period"], fmt_percent(p["return"]), str(p["accounts"]), fmt_money(p["assets"], ccy))
        for p in doc["periods"]
    ]
    print(table(["period", "return", "accounts", f"assets ({ccy})"], rows, right={1, 2, 3}))
    d = doc["dispersion"]
    if d["note"]:
        print(f"dispersion: {d['note']}")
    else:
        print(
            f"dispersion over {d['accounts']} accounts present throughout: asset-weighted std "
            f"{fmt_percent(d['asset_weighted_std'])}, equal-weighted std {fmt_percent(d['equal_weighted_std'])}, "
            f"high {fmt_percent(d['high'])}, low {fmt_percent(d['low'])}"
        )
    for x in doc["excluded"]:
        print(f"excluded {x['account']}: {x['reason']}")
    return 0
