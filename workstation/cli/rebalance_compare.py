"""`workstation rebalance compare RUN_A RUN_B [--json]`: two runs side by side, account by account."""

from __future__ import annotations

import argparse
from typing import Any

from engine.rebalance.compare import compare, load_records
from workstation.cli.args import row_limit
from workstation.cli.output import dumps, table
from workstation.compose import open_store


def register(rsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebalance compare`."""
    c = rsub.add_parser(
        "compare",
        help="compare two runs account by account (a batch id or prefix, or a --json FILE of a what-if)",
        description="Each run is a stored batch (its id or first 6+ characters) or the --json FILE a run "
        "wrote (`rebalance --what-if --json FILE` saves nothing else). Prints turnover, estimated tax, "
        "tracking error and drift after, and the trades that differ, per account.",
    )
    c.add_argument("run_a", metavar="RUN_A")
    c.add_argument("run_b", metavar="RUN_B")
    c.add_argument("--json", dest="cmp_json", action="store_true", help="print the comparison as JSON")
    c.add_argument("--limit", type=row_limit, default=50, help="accounts in the text table (default 50)")
    c.set_defaults(func=cmd_compare)


def _f(side: dict[str, Any] | None, key: str, fmt: str) -> str:
    if side is None or side.get(key) is None:
        return "-"
    return format(side[key], fmt)


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the comparison."""
    with open_store(args.db) as database, database.session() as s:
        label_a, a = load_records(s, args.run_a)
        label_b, b = load_records(s, args.run_b)
    out = compare(a, b)
    out["runs"] = {"a": label_a, "b": label_b}
    if args.cmp_json:
        print(dumps(out))
        return 0
    rows = [
        [r["account"], r["base_currency"] or "",
         _f(r["a"], "turnover", ".2%"), _f(r["b"], "turnover", ".2%"),
         _f(r["a"], "est_tax", ",.0f"), _f(r["b"], "est_tax", ",.0f"),
         _f(r["a"], "te_after", ".2%"), _f(r["b"], "te_after", ".2%"),
         _f(r["a"], "max_drift_after", ".2%"), _f(r["b"], "max_drift_after", ".2%"),
         len(r["trades_differing"])]
        for r in out["accounts"] if not r["same"]
    ][: args.limit]  # fmt: skip
    print(f"A = {label_a}\nB = {label_b}")
    print(table(["account", "ccy", "turnover A", "turnover B", "tax A", "tax B", "TE after A", "TE after B",
                 "max drift A", "max drift B", "trades differing"], rows, right=set(range(2, 11))))  # fmt: skip
    sm = out["summary"]
    for side in ("a", "b"):
        x = sm[side]
        tax = ", ".join(f"{v:,.0f} {c}" for c, v in x["est_tax_by_currency"].items()) or "0"
        mt = "-" if x["mean_turnover"] is None else f"{x['mean_turnover']:.2%}"
        te = "-" if x["mean_te_after"] is None else f"{x['mean_te_after']:.2%}"
        print(f"{side.upper()}: {x['accounts']} accounts ({x['ok']} ok), mean turnover {mt}, est. tax {tax}, "
              f"mean TE after {te}, {x['trades']} trades")  # fmt: skip
    print(f"{sm['accounts_differing']} of {len(out['accounts'])} accounts differ")
    return 0
