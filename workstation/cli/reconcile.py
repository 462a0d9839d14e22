"""`workstation reconcile`: load custodian statements, reconcile them against the book, work breaks.

Every command that writes (load, run, assign, status, comment, resolve, adjust, approve, reject)
signs its `--user` in first (password from $WORKSTATION_PASSWORD or a prompt; lock-out and audit
apply) and the engine service checks that user's permission; summary, breaks and show only read.

Also `cmd_custodian_files`, the body of `workstation demo custodian-files` (wired by the demo
command group): writes SIMULATED statements of three custodians with an answer key.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from connectors.custodian.childread import read_statements
from connectors.custodian.profile import load_profile, profile_for
from engine.demo.custodian_files import write_custodian_files
from engine.reconcile import queries, workflow
from engine.reconcile.load import store_statement
from engine.reconcile.match import MATCHED, Tolerance
from engine.reconcile.run import reconcile
from engine.store.database import Database
from workstation.cli.args import amount, fraction, input_file, iso_date, non_negative_int, record_id
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("reconcile", help="custodian reconciliation: load statements, run, work breaks")
    rs = p.add_subparsers(dest="reconcile_command", metavar="ACTION", required=True)

    ld = rs.add_parser("load", help="store custodian statement files (idempotent by file hash)")
    ld.add_argument("files", nargs="+", type=input_file, metavar="FILE")
    ld.add_argument("--custodian", required=True, help="custodian name, e.g. SIM-CUSTODIAN-B")
    ld.add_argument(
        "--profile",
        type=input_file,
        help="TOML profile (default: resources/custodian/<name>.toml, else generic CSV)",
    )
    add_user_option(ld)
    ld.add_argument("--json", action="store_true")
    ld.set_defaults(func=cmd_load)

    rn = rs.add_parser("run", help="reconcile the statements of a date against the book")
    rn.add_argument("--as-of", type=iso_date, required=True, help="statement date")
    rn.add_argument("--custodian", action="append", help="only this custodian (repeatable)")
    rn.add_argument(
        "--tolerance",
        type=fraction,
        default=0.005,
        help="valuation tolerance, fraction of value (default 0.005)",
    )
    rn.add_argument(
        "--min-amount",
        type=amount,
        default=1.0,
        help="valuation differences below this are ignored (default 1)",
    )
    add_user_option(rn)
    rn.add_argument(
        "--json", action="store_true", help="every break and the summary as JSON (docs/reconcile.md)"
    )
    rn.set_defaults(func=cmd_run)

    sm = rs.add_parser(
        "summary", help="matched / explained / open per custodian and currency of the last run"
    )
    sm.add_argument("--as-of", type=iso_date, required=True)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_summary)

    br = rs.add_parser("breaks", help="list breaks with filters")
    br.add_argument("--custodian")
    br.add_argument("--account")
    br.add_argument("--type", dest="break_type")
    br.add_argument("--status", action="append", help="open, investigating, resolved, explained (repeatable)")
    br.add_argument("--owner")
    br.add_argument("--min-age", type=non_negative_int, help="business days")
    br.add_argument("--json", action="store_true")
    br.set_defaults(func=cmd_breaks)

    sh = rs.add_parser("show", help="one break with the custodian's lines, lots, pending trades and trail")
    sh.add_argument("break_id", type=record_id)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    a = rs.add_parser("assign", help="give a break an owner")
    a.add_argument("break_id", type=record_id)
    a.add_argument("--owner", required=True)
    add_user_option(a)
    a.set_defaults(func=cmd_assign)

    st = rs.add_parser("status", help="move a break to open or investigating")
    st.add_argument("break_id", type=record_id)
    st.add_argument("status", choices=["open", "investigating"])
    add_user_option(st)
    st.set_defaults(func=cmd_status)

    c = rs.add_parser("comment", help="add a comment to a break")
    c.add_argument("break_id", type=record_id)
    c.add_argument("text")
    add_user_option(c)
    c.set_defaults(func=cmd_comment)

    r = rs.add_parser("resolve", help="resolve a break as custodian_error or timing")
    r.add_argument("break_id", type=record_id)
    r.add_argument("resolution", choices=["custodian_error", "timing"])
    r.add_argument("--note")
    add_user_option(r)
    r.set_defaults(func=cmd_resolve)

    ad = rs.add_parser("adjust", help="propose a book adjustment (trade or cash) for a break")
    ad.add_argument("break_id", type=record_id)
    ad.add_argument("--kind", choices=["trade", "cash"], required=True)
    ad.add_argument("--date", required=True, help="trade or value date")
    ad.add_argument("--side", choices=["buy", "sell"])
    ad.add_argument("--symbol")
    ad.add_argument("--quantity")
    ad.add_argument("--price")
    ad.add_argument("--currency")
    ad.add_argument("--amount")
    ad.add_argument("--note")
    add_user_option(ad)
    ad.set_defaults(func=cmd_adjust)

    ap = rs.add_parser("approve", help="approve (and book) a proposed adjustment; not its author")
    ap.add_argument("adjustment_id", type=record_id)
    ap.add_argument("--reason")
    add_user_option(ap)
    ap.set_defaults(func=cmd_approve)

    rj = rs.add_parser("reject", help="reject a proposed adjustment with a reason")
    rj.add_argument("adjustment_id", type=record_id)
    rj.add_argument("--reason", required=True)
    add_user_option(rj)
    rj.set_defaults(func=cmd_reject)


def cmd_load(args: argparse.Namespace) -> int:
    """Parse every file first (a bad one refuses all, before any password is asked), then sign the
    user in and store them all in one transaction as that user."""
    database = open_store(args.db)
    profile = load_profile(args.profile) if args.profile else profile_for(args.custodian)
    parsed = read_statements([(p, profile) for p in args.files])  # a semt.002 one in a child process
    user = sign_in(database, args.user)
    with database.transaction() as session:
        results = [store_statement(session, f.statement, f.name, f.sha256, user) for f in parsed]
    if args.json:
        print_json([r.__dict__ for r in results])
    else:
        for r in results:
            what = "already loaded (unchanged)" if r.duplicate else f"loaded {r.lines} {r.kind} lines"
            print(f"{r.file_name}: {r.custodian} {r.as_of}: {what} [statement {r.statement_id}]")
    return 0


def _num(x: Any) -> float | None:
    if x is None:
        return None
    f = float(x)
    return None if math.isnan(f) else round(f, 6)


def run_payload(result: Any) -> dict[str, Any]:
    """The `reconcile run --json` document (shape in docs/reconcile.md)."""
    rows = result.results[result.results["outcome"] != MATCHED]
    breaks = [
        {
            "id": None
            if r.break_id is None or (isinstance(r.break_id, float) and math.isnan(r.break_id))
            else int(r.break_id),
            "type": r.break_type,
            "outcome": r.outcome,
            "custodian": r.custodian,
            "account": r.account_code,
            "security": r.security_ref if isinstance(r.security_ref, str) else None,
            "currency": r.currency if isinstance(r.currency, str) else None,
            "measure": r.measure,
            "book": _num(r.book),
            "statement": _num(r.statement),
            "difference": _num(r.difference),
            "explanation": r.explanation,
            "refs": list(r.refs),
        }
        for r in rows.itertuples(index=False)
    ]
    return {
        "as_of": result.as_of.isoformat(),
        "lines": len(result.results),
        "matched": int((result.results["outcome"] == MATCHED).sum()),
        "explained": int((result.results["outcome"] == "explained").sum()),
        "open": int((result.results["outcome"] == "break").sum()),
        "breaks": breaks,
        "summary": result.summary.to_dict("records"),
        "no_statement": [
            {
                "id": None if r.break_id is None else int(r.break_id),
                "custodian": r.custodian,
                "account": r.account_code,
                "missing": list(r.missing),
                "positions": int(r.positions),
                "currencies": int(r.currencies),
                "explanation": r.explanation,
            }
            for r in result.no_statement.itertuples(index=False)
        ],
    }


def cmd_run(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        result = reconcile(
            session, args.as_of, args.custodian, Tolerance(args.tolerance, args.min_amount), run_by=user
        )
    payload = run_payload(result)
    if args.json:
        print_json(payload)
        return 0
    print(
        f"reconciliation {payload['as_of']}: {payload['lines']} lines, {payload['matched']} matched, "
        f"{payload['explained']} explained, {payload['open']} open breaks"
    )
    rows = [
        (
            b["id"],
            b["type"],
            b["custodian"],
            b["account"],
            b["security"] or b["currency"],
            b["book"],
            b["statement"],
            b["difference"],
            (b["explanation"] or "")[:80],
        )
        for b in payload["breaks"]
    ]
    if rows:
        print(
            table(
                [
                    "id",
                    "type",
                    "custodian",
                    "account",
                    "security/ccy",
                    "book",
                    "custodian",
                    "diff",
                    "explanation",
                ],
                rows,
                right={5, 6, 7},
            )
        )
    _print_summary(payload["summary"])
    absent: dict[str, list[str]] = {}
    for a in payload["no_statement"]:
        absent.setdefault(a["custodian"], []).append(a["account"])
    for cust, codes in absent.items():
        shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
        print(f"no statement: {len(codes)} account(s) of {cust} not compared: {shown}")
    return 0


def _print_summary(summary: list[dict[str, Any]]) -> None:
    print()
    print(
        table(
            ["custodian", "currency", "matched", "explained", "open"],
            [(s["custodian"], s["currency"], s["matched"], s["explained"], s["open"]) for s in summary],
            right={2, 3, 4},
        )
    )


def cmd_summary(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    with database.session() as session:
        summary = queries.run_summary(session, args.as_of)
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


def cmd_breaks(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    with database.session() as session:
        rows = queries.list_breaks(
            session,
            custodian=args.custodian,
            account=args.account,
            break_type=args.break_type,
            statuses=tuple(args.status) if args.status else ("open", "investigating", "explained"),
            owner=args.owner,
            min_age=args.min_age,
        )
    if args.json:
        print_json([r.as_dict() for r in rows])
        return 0
    print(
        table(
            ["id", "status", "age", "owner", "type", "custodian", "account", "security/ccy", "difference"],
            [
                (
                    r.id,
                    r.status,
                    r.age,
                    r.owner or "",
                    r.type,
                    r.custodian,
                    r.account,
                    r.security or r.currency,
                    r.difference,
                )
                for r in rows
            ],
            right={2, 8},
        )
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    with database.session() as session:
        d = queries.break_detail(session, args.break_id)
    payload = {
        "break": d.row.as_dict(),
        "statement_lines": d.statement_lines,
        "lots": d.lots,
        "pending_trades": d.pending_trades,
        "pending_cash": d.pending_cash,
        "corporate_actions": d.corporate_actions,
        "comments": d.comments,
        "adjustments": d.adjustments,
    }
    if args.json:
        print_json(payload)
        return 0
    for k, v in payload.items():
        print(f"{k}: {v}")
    return 0


def _signed_in(args: argparse.Namespace) -> tuple[Database, str]:
    database = open_store(args.db)
    return database, sign_in(database, args.user)


def cmd_assign(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        workflow.assign(session, args.break_id, args.owner, user)
    print(f"break {args.break_id}: owner {args.owner}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        workflow.set_status(session, args.break_id, args.status, user)
    print(f"break {args.break_id}: {args.status}")
    return 0


def cmd_comment(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        workflow.comment(session, args.break_id, user, args.text)
    print(f"break {args.break_id}: comment added")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        workflow.resolve(session, args.break_id, args.resolution, user, args.note)
    print(f"break {args.break_id}: resolved ({args.resolution})")
    return 0


def cmd_adjust(args: argparse.Namespace) -> int:
    terms = {
        k: v
        for k in ("side", "symbol", "quantity", "price", "currency", "amount", "date", "note")
        if (v := getattr(args, k)) is not None
    }
    database, user = _signed_in(args)
    with database.transaction() as session:
        adj = workflow.propose_adjustment(session, args.break_id, user, args.kind, terms)
        adj_id = adj.id
    print(f"adjustment {adj_id} proposed for break {args.break_id}; another user must approve it")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        res = workflow.approve_adjustment(session, args.adjustment_id, user, args.reason)
    print(f"adjustment {res.adjustment_id} booked as {res.booking_ref}; break {res.break_id} resolved")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    database, user = _signed_in(args)
    with database.transaction() as session:
        workflow.reject_adjustment(session, args.adjustment_id, user, args.reason)
    print(f"adjustment {args.adjustment_id} rejected")
    return 0


def cmd_custodian_files(args: argparse.Namespace) -> int:
    """`workstation demo custodian-files --out DIR --seed S --breaks RATE` (wired by the demo group)."""
    database = open_store(args.db)
    out = write_custodian_files(database, Path(args.out), int(args.seed), float(args.breaks))
    print(
        f"SIMULATED custodian statements written to {out} (answer key: {out / 'answer_key.csv'})",
        file=sys.stdout,
    )
    for name in sorted(p.name for p in out.iterdir()):
        print(f"  {name}")
    return 0
