"""Text rendering of `workstation report` documents: money in minor units, weights that add up."""

from __future__ import annotations

from typing import Any

from engine.reports.numbers import fmt_money, fmt_percent, fmt_quantity, money, percent_lines
from workstation.cli.output import table


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
