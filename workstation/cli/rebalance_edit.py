"""`workstation rebalance edit --proposal ID --trade SYMBOL (--quantity Q | --remove) --user U [--json]`:
a PM changes or removes one proposed trade; the proposal is re-checked exactly (engine.rebalance.trade_edit)."""

from __future__ import annotations

import argparse
import sys

from engine.rebalance.trade_edit import TradeEdit, edit_trade
from engine.views.proposal_review import compliance_screen
from workstation.cli.args import float_range, record_id
from workstation.cli.output import dumps
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store

quantity_arg = float_range(0.0, low_open=True)


def register(rsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebalance edit`."""
    e = rsub.add_parser(
        "edit",
        help="change the quantity of a proposed trade or remove it; the proposal is re-checked exactly",
        description="Only a proposal waiting for review (ok or rejected) can be edited. The proposal is "
        "checked again on the book as it stands (cash, no short sale, board lots, minimum size, "
        "restrictions, caps, household buy-and-sell), its drift, tracking error, tax and cost are "
        "recomputed and the compliance rules run on its trades. A proposal whose re-check fails cannot "
        "be accepted until another edit makes it pass (exit 1). Needs rebalance.run; audited proposal.edit.",
    )
    e.add_argument("--proposal", required=True, type=record_id, metavar="ID", help="proposal id")
    e.add_argument("--trade", required=True, metavar="SYMBOL", help="the symbol of the trade to change")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--quantity", type=quantity_arg, metavar="Q", help="the trade's new quantity (above 0)")
    what.add_argument("--remove", action="store_true", help="remove the trade")
    add_user_option(e)
    e.add_argument("--json", dest="edit_json", action="store_true", help="print the outcome as JSON")
    e.set_defaults(func=cmd_edit)


def cmd_edit(args: argparse.Namespace) -> int:
    """Edit, re-check, print the outcome; exit 1 when the re-check failed (the edit is kept)."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        edit = TradeEdit(args.trade, None if args.remove else args.quantity, bool(args.remove))
        out = edit_trade(database, user, args.proposal, edit, screen=compliance_screen)
    rec = out["record"]
    if args.edit_json:
        keys = ("proposal", "symbol", "side", "before", "after", "ok", "violations", "compliance")
        figures = {k: rec.get(k) for k in ("est_tax", "est_cost", "turnover")}
        sides = {
            k: {x: (rec.get(k) or {}).get(x) for x in ("tracking_error", "max_drift")}
            for k in ("before", "after")
        }
        print(
            dumps(
                {
                    **{k: out[k] for k in keys},
                    **figures,
                    "trades": len(rec.get("trades") or []),
                    "tracking_error": {k: v["tracking_error"] for k, v in sides.items()},
                    "max_drift": {k: v["max_drift"] for k, v in sides.items()},
                }
            )
        )
    else:
        after = "removed" if args.remove else f"{out['after']:g}"
        print(f"proposal {out['proposal']}: {out['side']} {out['symbol']} {out['before']:g} -> {after}")
        ccy = rec.get("base_currency", "")
        b, a = rec.get("before") or {}, rec.get("after") or {}
        print(
            f"  {len(rec.get('trades') or [])} trade(s), turnover {float(rec.get('turnover', 0)):.2%}, "
            f"est. tax {float(rec.get('est_tax', 0)):,.2f} {ccy}, est. cost {float(rec.get('est_cost', 0)):,.2f} {ccy}; "
            f"tracking error {float(b.get('tracking_error', 0)):.2%} -> {float(a.get('tracking_error', 0)):.2%}, "
            f"max drift {float(b.get('max_drift', 0)):.2%} -> {float(a.get('max_drift', 0)):.2%}"
        )
        comp = out["compliance"]
        rules = ", ".join(f"{c} {o}" for c, o in comp.get("rules", []))
        print(f"  compliance check: {comp.get('outcome')}" + (f" ({rules})" if rules else ""))
        print("  re-check: passed" if out["ok"] else "  re-check: FAILED; the proposal cannot be accepted")
    for v in out["violations"]:
        print(f"error: proposal {out['proposal']}: {v}", file=sys.stderr)
    return 0 if out["ok"] else 1
