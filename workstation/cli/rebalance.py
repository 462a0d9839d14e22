"""`workstation rebalance`: bulk tax-aware proposals, and `rebalance drift` (the book's drift)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from engine.errors import WorkstationError
from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.drift import book_drift
from engine.rebalance.events import RebalanceProgress
from engine.rebalance.run_inputs import select_account_ids
from engine.rebalance.run_options import build_settings, run_styled
from engine.rebalance.settings import Mode, RebalanceSettings
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
from workstation.cli.rebalance_households import add_household_arguments
from workstation.cli.rebalance_modes import (
    add_style_arguments,
    add_tax_budget_arguments,
    run_options,
)
from workstation.cli.rebalance_review import REVIEW_HELP, add_release_arguments, add_review_arguments
from workstation.cli.users import PASSWORD_ENV, sign_in
from workstation.compose import open_store


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
