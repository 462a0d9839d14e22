"""`workstation rebalance transition plan|list|show|step|cancel`: move a legacy portfolio onto a model in K steps."""

from __future__ import annotations

import argparse
from typing import Any

from engine.rebalance import transition_store as store
from engine.rebalance.transition import DEFAULT_EVERY_DAYS, DEFAULT_TOLERANCE, Budget
from workstation.cli.args import amount, float_range, int_range, record_id
from workstation.cli.output import dumps, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store

steps_arg = int_range(1, 24)
step_turnover = float_range(0.0, 2.0, low_open=True)
tolerance_arg = float_range(0.0, 0.2, low_open=True, high_open=True)
every_arg = int_range(1, 366)


def register(rsub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `rebalance transition` and its subcommands."""
    t = rsub.add_parser(
        "transition",
        help="transition plans: a legacy portfolio moves onto a model over K steps within tax and turnover budgets",
        description="Plan, list, show, execute step by step (each step becomes a normal proposal) or cancel.",
    )
    tsub = t.add_subparsers(dest="transition_command", metavar="SUBCOMMAND", required=True)
    p = tsub.add_parser("plan", help="project the steps and store the plan (needs rebalance.run)")
    p.add_argument("--account", required=True, metavar="CODE", help="the account to move")
    p.add_argument("--model", metavar="CODE", help="the target model (default: the account's own)")
    p.add_argument("--steps", required=True, type=steps_arg, metavar="K", help="number of steps (1-24)")
    p.add_argument("--turnover", dest="tr_turnover", required=True, type=step_turnover, metavar="FRACTION",
                   help="cap on (buys + sells) / account value per step")  # fmt: skip
    p.add_argument("--tax-budget", dest="tr_tax_budget", type=amount, metavar="AMOUNT",
                   help="cap on estimated tax per step, account base currency (default: none)")  # fmt: skip
    p.add_argument("--tolerance", type=tolerance_arg, default=DEFAULT_TOLERANCE, metavar="TE",
                   help="reached when the last step's tracking error is within TE of a one-shot rebalance's "
                   "(default %(default)g)")  # fmt: skip
    p.add_argument("--every", type=every_arg, default=DEFAULT_EVERY_DAYS, metavar="DAYS",
                   help="days between steps in the projection (default %(default)d)")  # fmt: skip
    p.add_argument("--what-if", action="store_true", help="project only: nothing is stored, no --user needed")
    add_user_option(p, required=False)
    p.add_argument("--json", dest="tr_json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=cmd_plan)

    ls = tsub.add_parser("list", help="stored transition plans")
    ls.add_argument("--account", metavar="CODE", help="only this account's plans")
    ls.add_argument("--json", dest="tr_json", action="store_true", help="print the plans as JSON")
    ls.set_defaults(func=cmd_list)

    sh = tsub.add_parser("show", help="one plan: its terms, the projected steps and each step's state")
    sh.add_argument("plan", type=record_id, metavar="PLAN", help="plan id")
    sh.add_argument("--json", dest="tr_json", action="store_true", help="print the plan as JSON")
    sh.set_defaults(func=cmd_show)

    st = tsub.add_parser(
        "step",
        help="execute the plan's next step: solved on the book as it stands, stored as a proposal",
        description="The step before must have been released (or rejected: then it is solved again). "
        "The proposal then goes through the exception queue, accept, compliance and release like any other.",
    )
    st.add_argument("plan", type=record_id, metavar="PLAN", help="plan id")
    st.add_argument("--what-if", action="store_true", help="solve the step but store nothing")
    add_user_option(st)
    st.add_argument(
        "--json", dest="tr_json", action="store_true", help="print the step and its record as JSON"
    )
    st.set_defaults(func=cmd_step)

    c = tsub.add_parser("cancel", help="cancel an active plan (its proposals stay as they are)")
    c.add_argument("plan", type=record_id, metavar="PLAN", help="plan id")
    add_user_option(c)
    c.add_argument("--reason", required=True, help="recorded in the audit log")
    c.set_defaults(func=cmd_cancel)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{x:.2%}"


def _print_plan(out: dict[str, Any]) -> None:
    budget = "none" if out["tax_budget"] is None else f"{out['tax_budget']:,.2f} {out['base_currency']}"
    head = f"transition {out['id']}" if out.get("id") else "transition (what-if, not stored)"
    print(
        f"{head}: {out['account']} onto {out['model']} in {out['steps']} step(s), turnover {out['turnover_budget']:.0%} "
        f"and tax {budget} per step, as of {out['as_of']}"
    )
    rows = [
        [
            s["step"], s.get("date", ""), s.get("state", s.get("status", "")), s.get("proposal") or "",
            _pct(s.get("te_before")), _pct(s.get("te_after")), _pct(s.get("turnover")),
            f"{s.get('est_tax', 0):,.0f}", s.get("trades", ""), s.get("te_note") or ("" if s.get("within_budget", True) else "over budget"),
        ]
        for s in out["projection"]
    ]  # fmt: skip
    print(table(["step", "date", "state", "proposal", "TE before", "TE after", "turnover", "est. tax", "trades", "note"],
                rows, right={4, 5, 6, 7, 8}))  # fmt: skip
    verdict = "reaches the model" if out["reaches_model"] else f"does NOT reach the model: {out['gap']}"
    print(
        f"TE {_pct(out['te_start'])} -> {_pct(out['te_final'])} (one-shot rebalance {_pct(out['te_one_shot'])}); "
        f"total est. tax {out['total_tax']:,.0f} {out['base_currency']}; {verdict}"
    )


def _budget(args: argparse.Namespace) -> Budget:
    return Budget(steps=args.steps, turnover=args.tr_turnover, tax_budget=args.tr_tax_budget,
                  tolerance=args.tolerance, every_days=args.every)  # fmt: skip


def cmd_plan(args: argparse.Namespace) -> int:
    """Project (and unless --what-if, store) a plan."""
    with open_store(args.db) as database:
        if args.what_if and not args.user:
            out = {
                "id": None,
                "status": "what-if",
                **store.project(database, args.account, args.model, _budget(args)),
            }
        else:
            if not args.user:
                from engine.errors import WorkstationError

                raise WorkstationError(
                    "transition plan stores the plan: --user NAME (needs rebalance.run), or --what-if"
                )
            user = sign_in(database, args.user)
            out = store.plan(database, user, args.account, args.model, _budget(args), save=not args.what_if)
    print(dumps(out)) if args.tr_json else _print_plan(out)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List stored plans."""
    with open_store(args.db) as database, database.session() as s:
        plans = store.list_plans(s, args.account)
    if args.tr_json:
        print(dumps({"transitions": plans}))
        return 0
    print(table(["id", "account", "model", "status", "steps done", "turnover", "tax budget", "TE start", "TE final", "reaches"],
                [[p["id"], p["account"], p["model"], p["status"], f"{p['steps_done']}/{p['steps']}",
                  f"{p['turnover_budget']:.0%}", "-" if p["tax_budget"] is None else f"{p['tax_budget']:,.0f} {p['currency']}",
                  _pct(p["te_start"]), _pct(p["te_final"]), "yes" if p["reaches_model"] else "no"] for p in plans],
                right={4, 5, 6, 7, 8}))  # fmt: skip
    print(f"{len(plans)} transition plan(s)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one stored plan."""
    with open_store(args.db) as database, database.session() as s:
        out = store.show_plan(s, args.plan)
    print(dumps(out)) if args.tr_json else _print_plan(out)
    return 0


def cmd_step(args: argparse.Namespace) -> int:
    """Execute (or with --what-if, solve only) the plan's next step."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        out = store.execute_step(database, user, args.plan, save=not args.what_if)
    if args.tr_json:
        print(dumps(out))
        return 0
    if out["step"] is None:
        print(f"transition {out['plan']}: every step released; the plan is done")
        return 0
    r = out["record"]
    te = f"TE {_pct(r['before']['tracking_error'])} -> {_pct(r['after']['tracking_error'])}"
    what = (
        f"proposal {out['proposal']} (batch {out['batch']})" if out["proposal"] else "what-if, nothing stored"
    )
    print(
        f"transition {out['plan']} step {out['step']}: {what}: {len(r['trades'])} trade(s), turnover "
        f"{r['turnover']:.2%}, est. tax {r['est_tax']:,.2f} {r['base_currency']}, {te}"
    )
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel a plan."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            status = store.cancel(s, user, args.plan, args.reason)
    print(f"transition {args.plan}: {status}")
    return 0
