"""`workstation report holdings|gains|performance|risk|exposure`: client-ready figures, text or --json."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta

from engine.daycycle.history import stored_history
from engine.reports.exposure import exposure_report
from engine.reports.gains import gains_report
from engine.reports.holdings import holdings_report
from engine.reports.numbers import fmt_percent
from engine.reports.performance import performance_report, risk_report
from engine.reports.scope import account_ids, book_as_of
from workstation.cli import report_composite, report_tca
from workstation.cli.args import confidence, horizon_days, iso_date, row_limit
from workstation.cli.output import print_json, table
from workstation.cli.report_render import render
from workstation.compose import open_store

KINDS = ("holdings", "gains", "performance", "risk", "exposure")
BY = {
    "holdings": ("position", "lot"),
    "gains": ("lot", "security", "account"),
    "exposure": ("currency", "sector", "country", "asset_class"),
}


def _register_drift(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`report drift` is `rebalance drift` (docs/rebalance.md); the rebalance module loads only when it runs."""
    d = kinds.add_parser(
        "drift", help="model weights, current weights and drift per account (as `rebalance drift`)"
    )
    g = d.add_mutually_exclusive_group()
    g.add_argument("--all", action="store_true", help="every account (the default)")
    g.add_argument("--accounts", metavar="CODES", help="comma-separated account codes")
    g.add_argument("--model", metavar="CODE", help="accounts on this model")
    g.add_argument("--household", metavar="CODE", help="accounts of this household")
    d.add_argument(
        "--drifted", action="store_true", help="only accounts with a trigger (band, cash, exclusions)"
    )
    d.add_argument(
        "--json", dest="drift_json", action="store_true", help="print each account's weights and drift"
    )
    d.add_argument("--limit", type=row_limit, default=20, help="rows in the text table (default 20)")
    d.set_defaults(func=_drift)


def _drift(args: argparse.Namespace) -> int:
    from workstation.cli.rebalance import cmd_drift

    return cmd_drift(args)


def _when(text: str) -> date | datetime:
    """A date (end of that day) or an ISO date-time with its zone (UTC if none)."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or a date-time (ISO 8601)"
        ) from exc


def _register_stale(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`report stale`: stale prices and FX rates under the policy (docs/reports.md)."""
    s = kinds.add_parser("stale", help="stale prices and FX rates the book depends on")
    s.add_argument(
        "--at", "--as-of", dest="at", type=_when, metavar="WHEN",
        help="a date (every session of it closed) or a date-time such as 2026-12-07T10:00-05:00 "
        "(default: the book's as-of date)",
    )  # fmt: skip
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=_stale)


def _stale(args: argparse.Namespace) -> int:
    from engine.views.stale import stale_report

    database = open_store(args.db)
    with database.session() as session:
        doc = stale_report(session, args.at).as_dict()
    if args.json:
        print_json(doc)
        return 0
    rows = [
        (
            r["kind"],
            r["name"],
            r["asset_class"],
            r["market"] or "",
            r["last"] or "none",
            r["expected"],
            r["accounts"],
        )
        for r in [*doc["prices"], *doc["fx"]]
    ]
    if rows:
        print(table(["kind", "name", "class", "market", "last", "expected", "accounts"], rows, right={6}))
    print(f"{len(doc['prices'])} stale price(s), {len(doc['fx'])} stale FX rate(s) as of {doc['as_of']}")
    return 0


def _register_attribution(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`report attribution`: Brinson-Fachler against the account's model (docs/reports.md)."""
    a = kinds.add_parser(
        "attribution", help="Brinson-Fachler allocation, selection, interaction and currency vs the model"
    )
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", metavar="CODE", help="the account")
    who.add_argument("--household", metavar="CODE", help="a household: its accounts combined")
    a.add_argument("--from", dest="start", type=iso_date, metavar="YYYY-MM-DD", help="range start")
    a.add_argument(
        "--to", dest="end", type=iso_date, metavar="YYYY-MM-DD",
        help="range end (default: the book's as-of date)",
    )  # fmt: skip
    a.add_argument(
        "--by",
        choices=("sector", "asset_class", "currency"),
        default="sector",
        help="segments (default sector)",
    )
    a.add_argument("--currency", default="USD", help="report currency for --household (default USD)")
    a.add_argument("--json", action="store_true", help="print JSON (shape in docs/reports.md)")
    a.set_defaults(func=_attribution)


def _attribution(args: argparse.Namespace) -> int:
    from engine.reports.attribution import attribution_report, household_attribution_report

    with open_store(args.db) as database, database.session() as session:
        end = args.end or book_as_of(session)
        start = args.start or (end - timedelta(days=365))
        if args.household:
            doc = household_attribution_report(session, args.household, start, end, args.by, args.currency)
        else:
            doc = attribution_report(session, args.account, start, end, by=args.by)
    if args.json:
        print_json(doc)
        return 0
    who = doc.get("account") or f"household {doc['household']}"
    print(
        f"Attribution of {who} ({doc['base_currency']}) against {doc['benchmark']} "
        f"by {doc['by']}, {doc['from']} to {doc['to']} (daily Brinson-Fachler, Carino-linked)"
    )
    cols = ("wp", "wb", "rp", "rb", "allocation", "selection", "interaction", "currency")
    rows = [(r["segment"], *(fmt_percent(r[c]) for c in cols)) for r in doc["segments"]]
    t = doc["totals"]
    rows.append(
        ("total (local)", "", "", fmt_percent(doc["portfolio_local_return"]), fmt_percent(doc["benchmark_local_return"]),
         fmt_percent(t["allocation"]), fmt_percent(t["selection"]), fmt_percent(t["interaction"]), fmt_percent(doc["currency_effect"]))
    )  # fmt: skip
    print(table(["segment", *cols], rows, right=set(range(1, 9))))
    print(
        f"portfolio {fmt_percent(doc['portfolio_return'])} - benchmark {fmt_percent(doc['benchmark_return'])} "
        f"= active {fmt_percent(doc['active_return'])} in {doc['base_currency']}; residual {fmt_percent(doc['residual'])}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("report", help="holdings, gains, performance, risk and exposure reports")
    kinds = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    _register_drift(kinds)
    _register_stale(kinds)
    _register_attribution(kinds)
    report_composite.register(kinds)
    report_tca.register(kinds)
    for kind in KINDS:
        k = kinds.add_parser(kind, help=f"{kind} report (shape of --json in docs/reports.md)")
        who = k.add_mutually_exclusive_group(required=True)
        who.add_argument("--account", action="append", metavar="CODE", help="an account (repeatable)")
        who.add_argument("--household", metavar="CODE", help="every account of a household")
        who.add_argument("--all", action="store_true", help="every account in the book")
        k.add_argument("--from", dest="start", type=iso_date, metavar="YYYY-MM-DD", help="range start")
        k.add_argument(
            "--to",
            "--as-of",
            dest="end",
            type=iso_date,
            metavar="YYYY-MM-DD",
            help="range end / valuation date (default: the book's as-of date)",
        )
        if kind in BY:
            k.add_argument(
                "--by", choices=BY[kind], default=BY[kind][0], help=f"grouping (default {BY[kind][0]})"
            )
        if kind == "exposure":
            k.add_argument("--level", choices=("account", "household", "firm"), default="account")
            k.add_argument("--currency", default="USD", help="report currency for household and firm levels")
        if kind == "performance":
            k.add_argument("--benchmark", default="model", help="'model' (default) or a security symbol")
        if kind == "risk":
            k.add_argument("--confidence", type=confidence, default=0.99)
            k.add_argument(
                "--horizon", type=horizon_days, default=1, help="VaR horizon in days (square-root-of-time)"
            )
        k.add_argument("--json", action="store_true", help="print JSON (shapes in docs/reports.md)")
        k.set_defaults(func=cmd_report, report=kind)


def cmd_report(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as session:
        ids = account_ids(session, args.account or (), args.household, args.all)
        end = args.end or book_as_of(session)
        start = args.start or (end - timedelta(days=365))
        if args.report == "holdings":
            doc = holdings_report(session, ids, end, by=args.by)
        elif args.report == "gains":
            doc = gains_report(session, ids, args.start, end, by=args.by)
        elif args.report == "performance":
            doc = performance_report(
                session, ids, start, end, benchmark=args.benchmark, stored=stored_history
            )
        elif args.report == "risk":
            doc = risk_report(session, ids, start, end, confidence=args.confidence, horizon_days=args.horizon)
        else:
            doc = exposure_report(
                session, ids, end, by=args.by, level=args.level, report_currency=args.currency
            )
    if args.json:
        print_json(doc)
    else:
        print(render(doc))
    return 0
