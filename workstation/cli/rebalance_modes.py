"""`workstation rebalance` styles (--style, directed trades, equivalents, gains deferral, the
improvement threshold) and `rebalance tax-budget` (an account's annual tax budget)."""

from __future__ import annotations

import argparse
import csv
from decimal import Decimal
from pathlib import Path

from engine.errors import ImportValidationError, Problem, WorkstationError
from engine.rebalance.book import book_as_of
from engine.rebalance.run_options import RunOptions
from engine.rebalance.settings import DirectedTrade, Mode, Style
from engine.rebalance.tax_year import list_budgets, set_account_budget
from workstation.cli.args import amount, float_range, input_file, int_range
from workstation.cli.output import dumps, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store

improvement = float_range(0.0, 1.0)
directed_qty = float_range(0.0, low_open=True)
defer_days = int_range(0, 366)


def add_style_arguments(p: argparse.ArgumentParser) -> None:
    """The style options of `workstation rebalance`."""
    p.add_argument(
        "--style",
        choices=[s.value for s in Style],
        default=Style.STANDARD.value,
        help="standard (default); minmax: only positions outside their band; tactical: only --sleeve; "
        "directed: --directed SYMBOL:SIDE:PCT across the accounts",
    )
    p.add_argument(
        "--minmax-to",
        choices=("edge", "target"),
        default="edge",
        help="minmax: trade out-of-band positions to the band edge (default) or to target",
    )
    p.add_argument(
        "--sleeve", metavar="LABELS", help="tactical: comma-separated asset classes or sectors that may trade"
    )
    p.add_argument(
        "--min-improvement",
        type=improvement,
        default=0.0,
        metavar="F",
        help="skip accounts whose tracking error falls by less than F (a fraction, e.g. 0.001 = 10 bp)",
    )
    p.add_argument(
        "--directed",
        metavar="SYMBOL:buy|sell:PCT",
        help="directed: buy PCT of each account's value in SYMBOL, or sell PCT of its holding (PCT a fraction)",
    )
    p.add_argument(
        "--directed-limit",
        type=directed_qty,
        metavar="QTY",
        help="directed: total quantity across the accounts, filled in priority order",
    )
    p.add_argument(
        "--priority", type=input_file, metavar="FILE", help="directed: CSV account,priority (lower first)"
    )
    p.add_argument(
        "--equivalents",
        nargs="?",
        const="",
        metavar="FILE",
        help="replace model securities by account type (CSV account_type,symbol,equivalent; "
        "default resources/rebalance/equivalents.csv)",
    )
    p.add_argument(
        "--defer-gains",
        type=defer_days,
        default=0,
        metavar="DAYS",
        help="do not sell a gain lot that turns long-term within DAYS unless a hard constraint forces it",
    )


def read_priority(path: Path) -> tuple[tuple[str, int], ...]:
    """(account, priority) rows of a priority CSV; every bad row named."""
    out: dict[str, int] = {}
    errors: list[Problem] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("account", "priority") if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportValidationError(str(path), [Problem(1, c, "missing column") for c in missing])
        for row_no, row in enumerate(reader, start=2):
            code = str(row.get("account") or "").strip()
            if not code:
                errors.append(Problem(row_no, "account", "empty"))
                continue
            try:
                out[code] = int(str(row.get("priority") or "").strip())
            except ValueError:
                errors.append(Problem(row_no, "priority", f"{row.get('priority')!r} is not a whole number"))
                continue
    if errors:
        raise ImportValidationError(str(path), errors)
    return tuple(sorted(out.items()))


def _directed(args: argparse.Namespace) -> DirectedTrade:
    parts = str(args.directed or "").split(":")
    if len(parts) != 3 or parts[1] not in ("buy", "sell"):
        raise WorkstationError(f"--directed takes SYMBOL:buy|sell:PCT (got {args.directed!r})")
    try:
        pct = float(parts[2])
    except ValueError:
        raise WorkstationError(f"--directed: PCT must be a fraction in (0, 1] (got {parts[2]!r})") from None
    if not 0 < pct <= 1:
        raise WorkstationError(f"--directed: PCT must be a fraction in (0, 1] (got {parts[2]})")
    prio = read_priority(args.priority) if args.priority else ()
    return DirectedTrade(parts[0], parts[1], pct, args.directed_limit, prio)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The parsed `workstation rebalance` options as the one typed object the desk builds too
    (engine.rebalance.run_options.build_settings checks it and makes the RebalanceSettings)."""
    style = Style(args.style)
    if (args.directed or args.directed_limit or args.priority) and style != Style.DIRECTED:
        raise WorkstationError("--directed, --directed-limit and --priority need --style directed")
    return RunOptions(
        mode=Mode(args.mode),
        style=style,
        minmax_to=args.minmax_to,
        sleeve=tuple(x.strip() for x in (args.sleeve or "").split(",") if x.strip()),
        min_improvement=args.min_improvement,
        defer_gains_days=args.defer_gains,
        max_turnover=args.max_turnover,
        households=args.households,
        what_if=args.no_save,
        tax_budget=args.tax_budget,
        cash_raise=args.cash_raise,
        cash_raise_by=args.cash_raise_by,
        trade_date=args.trade_date,
        time_limit_s=args.time_limit,
        skip_in_band=not args.no_skip,
        harvest_min_loss_base=args.harvest_min_loss,
        harvest_min_pct=args.harvest_min_pct,
        harvest_interval_days=args.harvest_interval,
        substitutes_file=args.substitutes,
        directed=_directed(args) if style == Style.DIRECTED else None,
        equivalents_file=args.equivalents,
    )


def add_tax_budget_arguments(t: argparse.ArgumentParser) -> None:
    """`rebalance tax-budget [--json]` and `rebalance tax-budget set ACCOUNT (--amount X | --clear)`."""
    t.add_argument("--json", dest="budgets_json", action="store_true", help="print the budgets as JSON")
    t.set_defaults(func=cmd_budgets)
    tsub = t.add_subparsers(dest="budget_command", metavar="SUBCOMMAND")
    st = tsub.add_parser(
        "set",
        help="set or clear an account's annual tax budget (needs models.edit)",
        description="The account's estimated tax of the calendar year, realized gains to date included, "
        "may not exceed AMOUNT (base currency) in a rebalance.",
    )
    st.add_argument("account", metavar="ACCOUNT", help="account code")
    g = st.add_mutually_exclusive_group(required=True)
    g.add_argument("--amount", type=amount, metavar="AMOUNT", help="the budget, account base currency")
    g.add_argument("--clear", action="store_true", help="remove the account's budget")
    add_user_option(st)
    st.add_argument("--json", dest="budget_json", action="store_true", help="print the budget as JSON")
    st.set_defaults(func=cmd_budget_set)


def cmd_budgets(args: argparse.Namespace) -> int:
    """List the accounts' annual tax budgets with their realized tax this year."""
    with open_store(args.db) as database, database.session() as s:
        rows = list_budgets(s, book_as_of(s))
    if args.budgets_json:
        print(dumps({"tax_budgets": rows}))
        return 0
    print(
        table(
            ["account", "ccy", "tax budget", "ytd tax"],
            [[r["account"], r["currency"], f"{r['tax_budget']:,.2f}", f"{r['ytd_tax']:,.2f}"] for r in rows],
            right={2, 3},
        )
    )
    print(f"{len(rows)} account tax budget(s)")
    return 0


def cmd_budget_set(args: argparse.Namespace) -> int:
    """Set or clear one account's budget; refused (exit 2, audited) without models.edit."""
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            value = None if args.clear else Decimal(str(args.amount))
            out = set_account_budget(s, user, args.account, value)
    if args.budget_json:
        print(dumps(out))
    else:
        b = "none" if out["tax_budget"] is None else f"{out['tax_budget']:,.2f} {out['currency']}"
        print(f"account {out['account']}: annual tax budget {b}")
    return 0
