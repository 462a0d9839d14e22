"""`workstation corporate`: load a vendor's corporate-action file, enter one by hand (four-eyes:
approve or reject by another user), list them, and book what is due (docs/accounting.md)."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.corporate import entry
from engine.corporate.book import book_due
from engine.corporate.csvfile import parse_file
from engine.corporate.listing import list_actions
from engine.corporate.terms import KINDS, ActionTerms
from workstation.cli.args import input_file, iso_date
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser(
        "corporate", help="corporate actions: load, enter (four-eyes), list, book on their dates"
    )
    cs = p.add_subparsers(dest="corporate_command", metavar="ACTION", required=True)

    ld = cs.add_parser(
        "load", help="store a vendor's corporate-action CSV (all or nothing; needs corporate.load)"
    )
    ld.add_argument("file", type=input_file, metavar="FILE")
    add_user_option(ld)
    ld.add_argument("--json", action="store_true")
    ld.set_defaults(func=cmd_load)

    ad = cs.add_parser("add", help="enter one action by hand: pending until another user approves it")
    ad.add_argument("--kind", required=True, choices=KINDS)
    ad.add_argument("--security", required=True, metavar="ID", help="symbol or ISIN")
    ad.add_argument("--ex", required=True, type=iso_date, metavar="D", help="ex date (effective date)")
    ad.add_argument("--record", type=iso_date, metavar="D", help="record date")
    ad.add_argument("--pay", type=iso_date, metavar="D", help="pay date (cash is settled then)")
    ad.add_argument("--announce", type=iso_date, metavar="D", help="announcement date")
    ad.add_argument("--ref", help="reference (default CA-<security>-<kind>-<ex YYYYMMDD>)")
    ad.add_argument("--ratio-new", type=_decimal, metavar="N", help="new shares per --ratio-old held")
    ad.add_argument("--ratio-old", type=_decimal, metavar="N")
    ad.add_argument("--amount", type=_decimal, help="cash per share held (dividend, merger, delisting)")
    ad.add_argument("--new-security", metavar="ID", help="merger: the acquirer; spin-off: the new company")
    ad.add_argument("--allocation", type=_decimal, help="basis fraction to the spun-off shares / merger cash")
    ad.add_argument("--new-price", type=_decimal, help="fair value of one new share (merger allocation)")
    ad.add_argument("--lieu-price", type=_decimal, help="cash per whole share paid for fractions")
    ad.add_argument("--new-symbol")
    ad.add_argument("--new-isin")
    add_user_option(ad)
    ad.add_argument("--json", action="store_true")
    ad.set_defaults(func=cmd_add)

    ap = cs.add_parser("approve", help="approve an action another user entered (needs bookings.approve)")
    ap.add_argument("ref", metavar="REF")
    ap.add_argument("--reason")
    add_user_option(ap)
    ap.set_defaults(func=cmd_approve)

    rj = cs.add_parser("reject", help="reject an action another user entered, with a reason")
    rj.add_argument("ref", metavar="REF")
    rj.add_argument("--reason", required=True)
    add_user_option(rj)
    rj.set_defaults(func=cmd_reject)

    ls = cs.add_parser("list", help="corporate actions by ex date")
    ls.add_argument("--pending", action="store_true", help="only those awaiting approval")
    ls.add_argument("--security", metavar="X", help="symbol or ISIN (also as the new security)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    bk = cs.add_parser("book", help="book every action due on or before a date, once (needs day.close)")
    bk.add_argument("--as-of", required=True, type=iso_date, metavar="D")
    add_user_option(bk)
    bk.add_argument("--json", action="store_true")
    bk.set_defaults(func=cmd_book)


def cmd_load(args: argparse.Namespace) -> int:
    rows, problems = parse_file(args.file)
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        res = entry.load(session, args.file.name, rows, username=user, problems=problems)
    if args.json:
        print_json({"source": res.source, "stored": res.stored, "unchanged": res.unchanged})
    else:
        print(
            f"{res.source}: {len(res.stored)} action(s) stored, {len(res.unchanged)} already stored unchanged"
        )
    return 0


def _terms(args: argparse.Namespace) -> ActionTerms:
    ex: date = args.ex
    ref = args.ref or f"CA-{args.security}-{args.kind}-{ex:%Y%m%d}".upper()
    return ActionTerms(
        ref=ref, kind=args.kind, security=args.security, ex_date=ex, announce_date=args.announce,
        record_date=args.record, pay_date=args.pay, ratio_new=args.ratio_new, ratio_old=args.ratio_old,
        amount=args.amount, new_security=args.new_security, allocation=args.allocation,
        new_price=args.new_price, lieu_price=args.lieu_price, new_symbol=args.new_symbol,
        new_isin=args.new_isin,
    )  # fmt: skip


def _one(database: Any, ref: str) -> dict[str, Any]:
    with database.session() as session:
        return next(r for r in list_actions(session) if r["ref"] == ref)


def cmd_add(args: argparse.Namespace) -> int:
    terms = _terms(args)
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        entry.add(session, terms, username=user)
    if args.json:
        print_json(_one(database, terms.ref))
    else:
        print(f"corporate action {terms.ref} entered, pending approval by another user")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        entry.approve(session, args.ref, username=user, reason=args.reason)
    print(f"corporate action {args.ref} approved: announced, booked on its date")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        entry.reject(session, args.ref, args.reason, username=user)
    print(f"corporate action {args.ref} rejected")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    with database.session() as session:
        rows = list_actions(session, pending=args.pending, security=args.security)
    if args.json:
        print_json(rows)
        return 0
    print(
        table(
            ["ref", "kind", "security", "ex", "pay", "status", "terms"],
            [
                [
                    r["ref"],
                    r["kind"],
                    r["security"],
                    r["ex_date"],
                    r["pay_date"] or "",
                    r["status"],
                    _describe(r),
                ]
                for r in rows
            ],
        )
    )
    print(f"{len(rows)} corporate action(s)")
    return 0


def _describe(r: dict[str, Any]) -> str:
    parts = []
    if r["ratio_new"]:
        parts.append(f"{r['ratio_new']} for {r['ratio_old']}")
    if r["amount"]:
        parts.append(f"{r['amount']}/sh")
    if r["new_security"]:
        parts.append(f"-> {r['new_security']}")
    if r["allocation"]:
        parts.append(f"alloc {r['allocation']}")
    if r["new_symbol"] or r["new_isin"]:
        parts.append(f"-> {r['new_symbol'] or ''} {r['new_isin'] or ''}".strip())
    return " ".join(parts)


def cmd_book(args: argparse.Namespace) -> int:
    database = open_store(args.db)
    user = sign_in(database, args.user)
    with database.transaction() as session:
        res = book_due(session, args.as_of, username=user)
    if args.json:
        print_json(res.as_dict())
        return 1 if res.failed else 0
    for o in res.booked:
        cash = ", ".join(f"{v} {c}" for c, v in sorted(o.cash.items())) or "no cash"
        print(
            f"booked {o.ref} ({o.kind}): {o.accounts} account(s), {o.lots} lot(s), {o.realized} gain(s), {cash}"
        )
    for ref, why in res.failed:
        print(f"not booked {ref}: {why}")
    for ref in res.awaiting_approval:
        print(f"due but awaiting approval: {ref}")
    print(f"{len(res.booked)} booked, {len(res.failed)} not booked, {len(res.awaiting_approval)} awaiting approval "
          f"(as of {args.as_of})")  # fmt: skip
    return 1 if res.failed else 0
