"""`workstation rebalance`: bulk tax-aware proposals, and `rebalance drift` (the book's drift)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import WorkstationError
from engine.rebalance.batches import resolve_batch
from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.bulk import select_account_ids
from engine.rebalance.drift import book_drift
from engine.rebalance.events import RebalanceProgress
from engine.rebalance.households import list_groups, set_group
from engine.rebalance.review import review
from engine.rebalance.run_options import build_settings, run_styled
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.release.proposals import ReleaseErrors, releasable, release_proposals
from workstation.cli import rebalance_compare, rebalance_edit, rebalance_exceptions, rebalance_transition
from workstation.cli.args import (
    amount,
    batch_size,
    fraction,
    input_file,
    iso_date,
    non_negative_int,
    output_file,
    row_limit,
    solve_seconds,
    turnover,
    workers,
)
from workstation.cli.output import dumps, table
from workstation.cli.rebalance_modes import (
    add_style_arguments,
    add_tax_budget_arguments,
    run_options,
)
from workstation.cli.users import PASSWORD_ENV, add_user_option, sign_in
from workstation.compose import open_store, order_manager


def _selection(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--all", action="store_true", help="every account (the default)")
    g.add_argument("--accounts", metavar="CODES", help="comma-separated account codes")
    g.add_argument("--model", metavar="CODE", help="accounts on this model")
    g.add_argument("--household", metavar="CODE", help="accounts of this household")
    p.add_argument(
        "--drifted", action="store_true", help="only accounts with a trigger (band, cash, exclusions)"
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("rebalance", help="propose tax-aware rebalancing trades for many accounts")
    _selection(p)
    p.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.FULL.value)
    p.add_argument("--executor", default="process", help="process (default), inline, or dask://host:port")
    p.add_argument(
        "--workers", type=workers, default=2, metavar="N", help="local worker processes (default 2)"
    )
    p.add_argument(
        "--batch-size", type=batch_size, default=100, metavar="N", help="accounts per task (default 100)"
    )
    p.add_argument(
        "--json", type=output_file, metavar="FILE", help="write one record per account (a JSON array) to FILE"
    )
    p.add_argument("--max-turnover", type=turnover, metavar="FRACTION", help="cap on (buys+sells)/value")
    p.add_argument(
        "--tax-budget", type=amount, metavar="AMOUNT", help="cap on realized gains per account, base ccy"
    )
    p.add_argument(
        "--cash-raise", type=amount, default=0.0, metavar="AMOUNT", help="cash-raise mode: amount, base ccy"
    )
    p.add_argument(
        "--cash-raise-by",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="cash-raise mode: only sales that settle by this date fund it",
    )
    p.add_argument(
        "--trade-date", type=iso_date, metavar="YYYY-MM-DD", help="trade date for settlement (default: as-of)"
    )
    p.add_argument(
        "--time-limit", type=solve_seconds, default=0.5, metavar="SECONDS", help="per-account solver limit"
    )
    p.add_argument("--no-skip", action="store_true", help="solve accounts that are within their band too")
    p.add_argument(
        "--households",
        action="store_true",
        help="solve each household group's accounts in one problem (see `rebalance households`); "
        "accounts outside groups solve alone",
    )
    p.add_argument(
        "--harvest-min-loss",
        type=amount,
        default=RebalanceSettings.harvest_min_loss_base,
        metavar="AMOUNT",
        help="tlh: harvest a lot only when its loss exceeds AMOUNT (base ccy; default %(default)g)",
    )
    p.add_argument(
        "--harvest-min-pct",
        type=fraction,
        default=RebalanceSettings.harvest_min_pct,
        metavar="P",
        help="tlh: ...and exceeds P of the lot's cost (a fraction; default %(default)g)",
    )
    p.add_argument(
        "--harvest-interval",
        type=non_negative_int,
        default=RebalanceSettings.harvest_interval_days,
        metavar="DAYS",
        help="tlh: no harvest in an account that realized a loss within DAYS (default %(default)d)",
    )
    p.add_argument(
        "--substitutes",
        type=input_file,
        metavar="FILE",
        help="tlh: substitute list CSV (asset_class,group,symbol); default resources/rebalance/substitutes.csv",
    )
    add_style_arguments(p)
    p.add_argument(
        "--no-save",
        "--what-if",
        dest="no_save",
        action="store_true",
        help="a what-if: write nothing (no proposals), no sign-in needed",
    )
    p.add_argument(
        "--user",
        metavar="NAME",
        help="who runs it (needed unless --no-save): signs in with their password "
        f"(${PASSWORD_ENV}, else a prompt), needs rebalance.run, and creates the proposals",
    )
    p.set_defaults(func=_run)
    rsub = p.add_subparsers(dest="rebalance_command", metavar="SUBCOMMAND")
    rebalance_transition.register(rsub)
    rebalance_compare.register(rsub)
    rebalance_edit.register(rsub)
    rebalance_exceptions.register(rsub)
    add_drift_arguments(rsub.add_parser("drift", help="drift of accounts against their models, ranked"))
    for decision in REVIEW_HELP:
        add_review_arguments(
            rsub.add_parser(
                decision,
                help=f"{decision} proposals (the PM's review; needs rebalance.run)",
                description=REVIEW_HELP[decision],
            ),
            decision,
        )
    add_household_arguments(
        rsub.add_parser(
            "households",
            help="household groups: which households rebalance together and against what target",
            description="Lists the household groups (`--json` prints them). `households set` creates or "
            "changes one (needs models.edit).",
        )
    )
    add_tax_budget_arguments(
        rsub.add_parser(
            "tax-budget", help="accounts' annual tax budgets (`tax-budget set` needs models.edit)"
        )
    )
    add_release_arguments(
        rsub.add_parser(
            "release",
            help="release accepted proposals to trading: their trades become OMS orders (once)",
            description="Each accepted proposal not yet sent to compliance is checked first. A proposal "
            "whose check was clean is released by a PM or a trader; one compliance had to approve needs a "
            "trader (orders.release_flagged). Its trades and FX spot trades become released OMS orders "
            "(`workstation oms --headless` routes them); releasing again creates nothing.",
        )
    )


REVIEW_HELP = {
    "accept": "Accept proposals a solve produced (status ok, or rejected before): they go on to compliance "
    "and release. --user signs in and needs rebalance.run; each decision is audited.",
    "reject": "Reject proposals (status ok, or accepted and not yet released) with a reason. --user signs "
    "in and needs rebalance.run; each decision is audited.",
}


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


def add_review_arguments(r: argparse.ArgumentParser, decision: str) -> None:
    """The accept and reject commands' options."""
    r.add_argument("ids", nargs="*", type=int, metavar="ID", help="proposal ids")
    r.add_argument(
        "--run",
        metavar="BATCH",
        help="every proposal of this bulk run waiting for review (status ok); the batch id or its first 6+ characters",
    )
    add_user_option(r)
    r.add_argument("--reason", required=decision == "reject", default="", help="recorded in the audit log")
    r.add_argument("--json", dest="review_json", action="store_true", help="print the outcome as JSON")
    r.set_defaults(func=cmd_review, decision=decision)


def cmd_review(args: argparse.Namespace) -> int:
    """Accept or reject proposals one by one; prints each outcome (any failure: exit 2 after the others)."""
    if bool(args.ids) == bool(args.run):
        raise WorkstationError(f"rebalance {args.decision}: give proposal ids or --run BATCH (one of them)")
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.session() as s:
            require(s, user, Permission.REBALANCE_RUN)  # refused once, audited, before any proposal
            ids = list(args.ids) if args.ids else waiting_for_review(s, resolve_batch(s, args.run))
        if not ids:
            raise WorkstationError(f"run {args.run} has no proposal waiting for review")
        done: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for pid in ids:
            try:
                with database.transaction() as s:
                    status = review(s, user, pid, args.decision, args.reason)
            except WorkstationError as exc:
                errors.append({"id": pid, "error": str(exc)})
            else:
                done.append({"id": pid, "status": status})  # only once committed
    if args.review_json:
        print(dumps({"proposals": done, "errors": errors}))
    else:
        for d in done:
            print(f"proposal {d['id']}: {d['status']}")
    for e in errors:
        print(f"error: {e['error']}", file=sys.stderr)
    return 2 if errors else 0


def waiting_for_review(session: Any, batch_id: str) -> list[int]:
    """The ids of a run's proposals a PM has not reviewed yet (status ok), in id order."""
    return list(
        session.scalars(
            select(Proposal.id)
            .where(Proposal.batch_id == batch_id, Proposal.status == "ok")
            .order_by(Proposal.id)
        )
    )


def add_release_arguments(r: argparse.ArgumentParser) -> None:
    """The release command's options."""
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--proposals", metavar="IDS", help="comma-separated proposal ids")
    g.add_argument(
        "--run",
        metavar="BATCH",
        help="every accepted proposal of this bulk run (the batch id or its first 6+ characters)",
    )
    add_user_option(r)
    r.add_argument("--broker", metavar="NAME", help="FIX session (TargetCompID) the orders go to")
    r.add_argument(
        "--fx-broker", metavar="NAME", help="FX spot orders' broker (default: the same as --broker)"
    )
    r.add_argument("--reason", default="", help="recorded in the audit log")
    r.add_argument("--json", dest="release_json", action="store_true", help="print one record per proposal")
    r.set_defaults(func=cmd_release)


def cmd_release(args: argparse.Namespace) -> int:
    """Release proposals to orders; prints what each became (a refusal: exit 2 after the others)."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        if args.run:
            with database.session() as s:
                ids = releasable(s, resolve_batch(s, args.run))
            if not ids:
                raise WorkstationError(f"run {args.run} has no accepted proposal waiting for release")
        else:
            try:
                ids = [int(x) for x in args.proposals.split(",") if x.strip()]
            except ValueError:
                raise WorkstationError(f"--proposals takes ids like 12,13 (got {args.proposals!r})") from None
        manager = order_manager(database)
        failed: ReleaseErrors | None = None
        try:
            done = release_proposals(
                manager, user, ids, broker=args.broker, fx_broker=args.fx_broker, reason=args.reason
            )
        except ReleaseErrors as exc:
            done, failed = exc.done, exc
    if args.release_json:
        print(dumps([o.as_dict() for o in done]))
    else:
        for o in done:
            st = ", ".join(f"{n} {k}" for k, n in o.statuses.items())
            print(
                f"proposal {o.proposal_id} {o.account}: {o.state.replace('_', ' ')}"
                + (f", {len(o.order_ids)} order(s) ({st})" if o.order_ids else "")
                + (f"; {o.message}" if o.message and o.state != "released" else "")
            )
    if failed is not None:
        raise failed
    return 0


def add_drift_arguments(d: argparse.ArgumentParser) -> None:
    """The drift command's options."""
    _selection(d)
    d.add_argument(
        "--json", dest="drift_json", action="store_true", help="print each account's weights and drift"
    )
    d.add_argument("--limit", type=row_limit, default=20, help="rows in the text table (default 20)")
    d.set_defaults(func=cmd_drift)


def _ids(args: argparse.Namespace, database: Any) -> list[int] | None:
    codes = [c.strip() for c in args.accounts.split(",") if c.strip()] if args.accounts else None
    return select_account_ids(database, codes=codes, model=args.model, household=args.household)


def cmd_drift(args: argparse.Namespace) -> int:
    """Print the drift of the selected accounts (text table, or JSON with --json)."""
    database = open_store(args.db)
    ids = _ids(args, database)
    with database.session() as session:
        u = load_universe(session, book_as_of(session))
        accounts = load_accounts(session, u, ids)
    bd = book_drift(u, accounts)
    rows = bd.summary()
    if args.drifted:
        rows = [r for r in rows if r["triggers"]]
    if args.drift_json:
        pos = {a.code: i for i, a in enumerate(bd.accounts)}
        out = []
        for r in rows:
            detail = bd.account_detail(pos[r["account"]])
            detail.update(
                {
                    k: r[k]
                    for k in (
                        "max_drift",
                        "max_drift_symbol",
                        "total_drift",
                        "ratio",
                        "triggers",
                        "suspended",
                    )
                }
            )
            out.append(detail)
        sys.stdout.write(dumps({"as_of": u.as_of, "accounts": out}) + "\n")
        return 0
    print(
        table(
            ["account", "model", "ccy", "value", "band", "max drift", "symbol", "total", "cash", "triggers"],
            [
                [
                    r["account"],
                    r["model"],
                    r["base_currency"],
                    f"{r['value_base']:,.0f}",
                    f"{r['band']:.1%}",
                    f"{r['max_drift']:.2%}",
                    r["max_drift_symbol"],
                    f"{r['total_drift']:.2%}",
                    f"{r['cash_weight']:.2%}",
                    ", ".join(r["triggers"] + ([_suspended_word(r["suspended"])] if r["suspended"] else [])),
                ]
                for r in rows[: args.limit]
            ],
            right={3, 4, 5, 7, 8},
        )
    )
    print(
        f"{sum(bool(r['triggers']) for r in rows)} of {len(rows)} accounts have a trigger (as of {u.as_of})"
    )
    return 0


def _suspended_word(reason: str) -> str:
    """The drift table's short word for a suspension (the reason itself is in --json)."""
    return "suspended: corporate action" if "pending corporate action" in reason else "suspended: stale data"


def _run(args: argparse.Namespace) -> int:
    options = run_options(args)
    settings = build_settings(options)
    mode = settings.mode
    if not args.no_save and not args.user:
        raise WorkstationError(
            "rebalance saves proposals: --user NAME is required (signs in; needs rebalance.run), "
            "or --no-save for a what-if that writes nothing"
        )
    database = open_store(args.db)
    user = sign_in(database, args.user) if args.user else None
    ids = _ids(args, database)

    def progress(ev: RebalanceProgress) -> None:
        eta = f"{ev.eta_s:.0f}s" if ev.eta_s is not None else "?"
        print(
            f"\r{ev.done}/{ev.total} done, {ev.infeasible} infeasible, {ev.failed} failed, eta {eta}   ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    result = run_styled(
        database,
        settings,
        ids,
        drifted_only=args.drifted,
        executor=args.executor,
        workers=args.workers,
        batch_size=args.batch_size,
        on_progress=progress if sys.stderr.isatty() or args.verbose else None,
        user=user,
        save=not args.no_save,
    )
    if args.json:
        records = sorted(result.records, key=lambda r: r["account"])
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(records, fh, indent=1, default=str)
    s = result.summary
    print(file=sys.stderr) if sys.stderr.isatty() else None
    print(
        f"rebalance {mode.value}: {s['accounts']} accounts in {s['seconds']:.1f}s "
        f"({s['ok']} ok, {s['infeasible']} infeasible, {s['failed']} failed"
        + (f", {s['not_run']} not run: cancelled" if s["cancelled"] else "")
        + ")"
    )
    print(
        f"trades {s['trades']} (+{s['fx_trades']} FX), mean turnover {s['mean_turnover']:.2%}, "
        f"est. tax {s['est_tax_usd']:,.0f} USD, est. cost {s['est_cost_usd']:,.0f} USD"
    )
    print("rungs: " + ", ".join(f"{k} {v}" for k, v in s["rungs"].items()) + f"; batch {s['batch_id']}")
    runs = {r["household"]["run_id"]: r["household"] for r in result.records if r.get("household")}
    if runs:
        rungs = Counter(str(h.get("rung")) for h in runs.values())
        print(
            f"households solved together: {len(runs)} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(rungs.items()))
            + ")"
        )
    suspended = [r for r in result.records if r.get("suspended")]
    if suspended:
        print(
            f"{len(suspended)} suspended (stale data or a pending corporate action), "
            f"e.g. {suspended[0]['account']}: {suspended[0]['reason']}"
        )
    if s["accounts"] and not s["ok"]:  # nothing to review: a script must not carry on as if it worked
        print(f"error: no proposal: all {s['accounts']} accounts were infeasible or failed", file=sys.stderr)
        return 1
    return 0
