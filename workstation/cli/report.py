"""`workstation report holdings|gains|performance|risk|exposure`: client-ready figures, text or --json."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from typing import Any

from engine.daycycle.history import stored_history
from engine.reports.exposure import exposure_report
from engine.reports.gains import gains_report
from engine.reports.holdings import holdings_report
from engine.reports.numbers import fmt_money, fmt_percent, fmt_quantity, money, percent_lines
from engine.reports.performance import performance_report, risk_report
from engine.reports.scope import account_ids, book_as_of
from workstation.cli import report_composite, report_tca
from workstation.cli.args import confidence, horizon_days, iso_date, row_limit
from workstation.cli.output import print_json, table
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
    rows = [(r["segment"], *(_pct(r[c]) for c in cols)) for r in doc["segments"]]
    t = doc["totals"]
    rows.append(
        ("total (local)", "", "", _pct(doc["portfolio_local_return"]), _pct(doc["benchmark_local_return"]),
         _pct(t["allocation"]), _pct(t["selection"]), _pct(t["interaction"]), _pct(doc["currency_effect"]))
    )  # fmt: skip
    print(table(["segment", *cols], rows, right=set(range(1, 9))))
    print(
        f"portfolio {_pct(doc['portfolio_return'])} - benchmark {_pct(doc['benchmark_return'])} "
        f"= active {_pct(doc['active_return'])} in {doc['base_currency']}; residual {_pct(doc['residual'])}"
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


def _money(x: Any, currency: str) -> str:
    """An amount with its currency's minor units (JPY 0, KWD 3)."""
    return fmt_money(x, currency)


def _pct(x: Any) -> str:
    return fmt_percent(x)


def _account_weights(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Holdings weights as shown: each account's position and cash weights rounded together, so
    a whole account reads 100.00% (never 99.98%)."""
    lines = [("row", k, r) for k, r in enumerate(doc["rows"])] + [
        ("cash", k, c) for k, c in enumerate(doc["cash"])
    ]
    by_account: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for line in lines:
        by_account.setdefault(line[2]["account"], []).append(line)
    shown: dict[tuple[str, int], str] = {}
    for group in by_account.values():
        for (kind, k, _), text in zip(group, percent_lines([g[2]["weight"] for g in group])):
            shown[(kind, k)] = text
    return [shown[("row", k)] for k in range(len(doc["rows"]))], [
        shown[("cash", k)] for k in range(len(doc["cash"]))
    ]


def _group_weights(rows: list[dict[str, Any]]) -> list[str]:
    """Exposure weights as shown: each group's rounded together so that they add up to 100.00%."""
    groups: dict[str, list[int]] = {}
    for k, r in enumerate(rows):
        groups.setdefault(str(r["group"]), []).append(k)
    shown: dict[int, str] = {}
    for members in groups.values():
        shown.update(zip(members, percent_lines([rows[k]["weight"] for k in members])))
    return [shown[k] for k in range(len(rows))]


def _gain_cell(key: str, row: dict[str, Any]) -> str:
    value = row[key]
    if key == "quantity":
        return fmt_quantity(value)
    if key.endswith("_base") and isinstance(value, int | float):
        return _money(value, row["base_currency"])
    return "" if value is None else str(value)


def render(doc: dict[str, Any]) -> str:
    """Plain text a PM can paste: currencies labelled, totals, short- and long-term apart."""
    kind = doc["report"]
    lines: list[str] = []
    if kind == "holdings":
        lines.append(f"Holdings as of {doc['as_of']}")
        row_weights, cash_weights = _account_weights(doc)
        rows = [
            [
                r["account"],
                r["symbol"],
                r["isin"] or "",
                r["mic"],
                fmt_quantity(r["quantity"]),
                f"{r['price']:,.4f}",
                r["currency"],
                _money(r["market_value_local"], r["currency"]),
                _money(r["market_value_base"], r["base_currency"]),
                r["base_currency"],
                w,
            ]
            for r, w in zip(doc["rows"], row_weights)
        ]
        rows += [
            [
                c["account"],
                f"CASH {c['currency']}",
                "",
                "",
                "",
                "",
                c["currency"],
                _money(
                    money(c["settled"], c["currency"]) + money(c["unsettled"], c["currency"]), c["currency"]
                ),
                _money(c["value_base"], c["base_currency"]),
                c["base_currency"],
                w,
            ]
            for c, w in zip(doc["cash"], cash_weights)
        ]
        lines.append(
            table(
                [
                    "account",
                    "symbol",
                    "isin",
                    "mic",
                    "quantity",
                    "price",
                    "ccy",
                    "value (local)",
                    "value (base)",
                    "base",
                    "weight",
                ],
                rows,
                right={4, 5, 7, 8, 10},
            )
        )
        lines.append("")
        lines.append(
            table(
                ["account", "base", "securities", "cash", "total"],
                [
                    [
                        t["account"],
                        t["base_currency"],
                        _money(t["securities_base"], t["base_currency"]),
                        _money(t["cash_base"], t["base_currency"]),
                        _money(t["total_base"], t["base_currency"]),
                    ]
                    for t in doc["totals"]
                ],
                right={2, 3, 4},
            )
        )
    elif kind == "gains":
        lines.append(f"Gains {doc['from'] or 'inception'} to {doc['to']} (base currency)")
        if doc["realized"]:
            cols = [
                c
                for c in (
                    "account",
                    "symbol",
                    "lot_ref",
                    "acquired",
                    "sold",
                    "term",
                    "quantity",
                    "proceeds_base",
                    "cost_base",
                    "gain_base",
                    "wash_disallowed_base",
                    "recognized_gain_base",
                )
                if c in doc["realized"][0]
            ]
            lines.append("Realized")
            lines.append(
                table(
                    cols,
                    [[_gain_cell(c, r) for c in cols] for r in doc["realized"]],
                    right={i for i, c in enumerate(cols) if c == "quantity" or c.endswith("_base")},
                )
            )
            for r in doc["realized"]:
                if r.get("wash_note"):
                    lines.append(f"  {r['account']} {r['symbol']} {r['lot_ref']}: {r['wash_note']}")
        lines.append("")
        lines.append(
            table(
                [
                    "account",
                    "base",
                    "realized ST",
                    "realized LT",
                    "realized (no term)",
                    "wash disallowed",
                    "unrealized ST",
                    "unrealized LT",
                    "unrealized (no term)",
                ],
                [
                    [
                        t["account"],
                        t["base_currency"],
                        *(
                            _money(t[k], t["base_currency"])
                            for k in (
                                "realized_short_base",
                                "realized_long_base",
                                "realized_none_base",
                                "wash_disallowed_base",
                                "unrealized_short_base",
                                "unrealized_long_base",
                                "unrealized_none_base",
                            )
                        ),
                    ]
                    for t in doc["totals"]
                ],
                right=set(range(2, 9)),
            )
        )
    elif kind == "performance":
        lines.append(
            f"Performance {doc['from']} to {doc['to']} (base currency; TWR not annualized, MWR annualized)"
        )
        lines.append(
            table(
                [
                    "account",
                    "base",
                    "start",
                    "end",
                    "flows",
                    "TWR",
                    "local",
                    "currency",
                    "Mod. Dietz",
                    "MWR p.a.",
                    "benchmark",
                    "bench",
                    "active",
                    "TE",
                    "IR",
                    "source",
                ],
                [
                    [
                        r["account"],
                        r["base_currency"],
                        _money(r["start_value"], r["base_currency"]),
                        _money(r["end_value"], r["base_currency"]),
                        _money(r["net_flows"], r["base_currency"]),
                        _pct(r["twr"]),
                        _pct(r["local_return"]),
                        _pct(r["currency_return"]),
                        _pct(r["modified_dietz"]),
                        _pct(r["mwr_annualized"]),
                        r.get("benchmark") or "",
                        _pct(r.get("benchmark_return")),
                        _pct(r.get("active_return")),
                        _pct(r.get("tracking_error")),
                        "" if r.get("information_ratio") is None else f"{r['information_ratio']:.2f}",
                        "stored" if r.get("source") == "daily_values" else "rebuilt",
                    ]
                    for r in doc["rows"]
                ],
                right=set(range(2, 15)) - {10},
            )
        )
    elif kind == "risk":
        lines.append(
            f"Risk {doc['from']} to {doc['to']} (daily base-currency returns; VaR/ES as positive losses)"
        )
        lines.append(
            table(
                [
                    "account",
                    "base",
                    "obs",
                    "vol p.a.",
                    "max DD",
                    "VaR hist",
                    "VaR amount",
                    "VaR normal",
                    "ES",
                    "Sharpe",
                    "Sortino",
                ],
                [
                    [
                        r["account"],
                        r["base_currency"],
                        r["observations"],
                        _pct(r.get("volatility")),
                        _pct(r.get("max_drawdown")),
                        _pct(r.get("historical_var")),
                        _money(r.get("historical_var_amount"), r["base_currency"]),
                        _pct(r.get("parametric_var")),
                        _pct(r.get("expected_shortfall")),
                        "" if r.get("sharpe") is None else f"{r['sharpe']:.2f}",
                        "" if r.get("sortino") is None else f"{r['sortino']:.2f}",
                    ]
                    for r in doc["rows"]
                ],
                right=set(range(2, 11)),
            )
        )
    else:
        lines.append(f"Exposure by {doc['by']} at {doc['level']} level, as of {doc['as_of']}")
        lines.append(
            table(
                ["group", doc["by"], "ccy", "value", "weight"],
                [
                    [r["group"], r["bucket"], r["currency"], _money(r["value"], r["currency"]), w]
                    for r, w in zip(doc["rows"], _group_weights(doc["rows"]))
                ],
                right={3, 4},
            )
        )
    return "\n".join(lines)
