"""`workstation compliance`: rules in force, hypothetical pre-trade checks, the book check, rule
and list changes, the approval queue and the kill switch.

Reading (rules, templates, check, book, lists, queue, kill status) needs no sign-in; anything
that changes the book's controls needs --user and that user's password, and is audited.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from engine.compliance import approvals, killswitch, lists
from engine.compliance.book import book_as_of, load_book
from engine.compliance.checker import run_check
from engine.compliance.orders_csv import read_orders
from engine.compliance.posttrade import scan
from engine.compliance.rules import assign_rule, rules_in_force, save_rule
from engine.compliance.templates import REQUIRED, TEMPLATES
from engine.errors import WorkstationError
from workstation.cli.args import input_file, iso_date, record_id, row_limit
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("compliance", help="compliance rules, checks, approvals and the kill switch")
    g = p.add_subparsers(dest="compliance_command", metavar="ACTION", required=True)

    r = g.add_parser("rules", help="list the rules in force", description="The latest version of each rule "
                     "effective on the date, with its template, severity, parameters and assignments.")  # fmt: skip
    r.add_argument("--as-of", type=iso_date, help="date (default: the book's as-of date)")
    r.add_argument("--json", action="store_true", help="print as JSON (shape in docs/compliance.md)")
    r.set_defaults(func=cmd_rules)

    t = g.add_parser("templates", help="list rule templates and their parameters")
    t.add_argument("--json", action="store_true", help="print as JSON")
    t.set_defaults(func=cmd_templates)

    c = g.add_parser(
        "check",
        help="check hypothetical orders from a CSV file against the current book (changes nothing)",
        description="The file `orders import` takes (columns account, symbol, side, quantity, order_type, "
        "limit_price, time_in_force, broker), refused the same way: every problem names its row and "
        "column (exit 2). Orders of one account count together in the post-trade projection, except "
        "hard-blocked ones, which will not trade.",
    )
    c.add_argument("file", type=input_file, metavar="FILE.csv")
    c.add_argument("--as-of", type=iso_date, help="date (default: the book's as-of date)")
    c.add_argument("--json", action="store_true", help="print as JSON (shape in docs/compliance.md)")
    c.set_defaults(func=cmd_check)

    b = g.add_parser("book", help="post-trade check of the whole book (or some accounts)")
    b.add_argument("--account", action="append", metavar="CODE", help="only these accounts (repeatable)")
    b.add_argument("--as-of", type=iso_date)
    b.add_argument("--limit", type=row_limit, default=50, help="breaches to print in text mode (default 50)")
    b.add_argument("--json", action="store_true", help="print every breach as JSON")
    b.set_defaults(func=cmd_book)

    rs = g.add_parser("rule-set", help="add a rule or a new version of one (audited)")
    rs.add_argument("code")
    rs.add_argument("--template", required=True, choices=sorted(TEMPLATES))
    rs.add_argument("--severity", required=True, choices=["hard", "soft", "info"])
    rs.add_argument(
        "--params", default="{}", metavar="JSON", help="parameters as JSON, e.g. '{\"max_weight\": 0.1}'"
    )
    rs.add_argument("--from", dest="effective_from", type=iso_date, help="effective from (default: today)")
    rs.add_argument("--assign", action="append", metavar="SCOPE[:KEY]",
                    help="firm, model:CODE, household:CODE or account:CODE (repeatable)")  # fmt: skip
    rs.add_argument("--retire", action="store_true", help="the new version retires the rule")
    rs.add_argument("--description", default="")
    rs.add_argument("--reason", required=True)
    add_user_option(rs)
    rs.set_defaults(func=cmd_rule_set)

    ra = g.add_parser("assign", help="apply an existing rule to the firm, a model, a household or an account")
    ra.add_argument("code")
    ra.add_argument("scope", metavar="SCOPE[:KEY]")
    ra.add_argument("--from", dest="effective_from", type=iso_date)
    ra.add_argument("--reason", required=True)
    add_user_option(ra)
    ra.set_defaults(func=cmd_assign)

    la = g.add_parser("list-add", help="put a security on the restricted or watch list")
    la.add_argument("list", choices=list(lists.KINDS))
    la.add_argument("symbol")
    la.add_argument("--account", help="for this account only (default: firm-wide)")
    la.add_argument("--from", dest="effective_from", type=iso_date)
    la.add_argument("--to", dest="effective_to", type=iso_date, help="first day no longer listed")
    la.add_argument("--reason", required=True)
    add_user_option(la)
    la.set_defaults(func=cmd_list_add)

    ll = g.add_parser("lists", help="show restricted and watch list entries")
    ll.add_argument("--json", action="store_true")
    ll.set_defaults(func=cmd_lists)

    q = g.add_parser("queue", help="cases waiting for a compliance reviewer")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_queue)

    cs = g.add_parser("case", help="one approval case: terms, the last check's results, decisions")
    cs.add_argument("case", type=record_id)
    cs.add_argument("--json", action="store_true")
    cs.set_defaults(func=cmd_case)

    for name in ("approve", "reject"):
        d = g.add_parser(name, help=f"{name} a pending case (four-eyes; hard blocks need two approvers)")
        d.add_argument("case", type=record_id)
        d.add_argument("--reason-code", required=True, choices=list(approvals.REASON_CODES))
        d.add_argument("--comment", default="")
        add_user_option(d)
        d.set_defaults(func=cmd_decide, decision=name)

    k = g.add_parser(
        "kill", help="the kill switch: stop or resume routing for the firm, a desk, an account or a trader"
    )
    kg = k.add_subparsers(dest="kill_command", metavar="ACTION", required=True)
    ke = kg.add_parser("engage", help="stop routing now")
    ke.add_argument("scope", nargs="?", choices=list(killswitch.SCOPES))
    ke.add_argument("key", nargs="?", help="desk or account code, or trader's user name (none for firm)")
    ke.add_argument(
        "--trader", metavar="NAME", help="stop the orders this user enters (same as `engage trader NAME`)"
    )
    ke.add_argument("--reason", required=True)
    add_user_option(ke)
    ke.set_defaults(func=cmd_kill_engage)
    kr = kg.add_parser("release", help="lift an engaged switch")
    kr.add_argument("id", type=record_id)
    kr.add_argument("--reason", required=True)
    add_user_option(kr)
    kr.set_defaults(func=cmd_kill_release)
    ks = kg.add_parser("status", help="engaged switches (and released ones with --all)")
    ks.add_argument("--all", action="store_true")
    ks.add_argument("--json", action="store_true")
    ks.set_defaults(func=cmd_kill_status)

    dk = g.add_parser("desk", help="put an account on a desk")
    dk.add_argument("account")
    dk.add_argument("desk")
    dk.add_argument("--reason", required=True)
    add_user_option(dk)
    dk.set_defaults(func=cmd_desk)


def cmd_rules(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        as_of = args.as_of or book_as_of_or_today(s)
        rules = rules_in_force(s, as_of)
    if args.json:
        print_json({"as_of": as_of, "rules": [r.as_dict() for r in rules]})
        return 0
    print(f"{len(rules)} rules in force on {as_of}")
    print(
        table(
            ["code", "v", "template", "severity", "params", "assigned to"],
            [
                (r.code, r.version, r.template, r.severity, json.dumps(r.params, sort_keys=True),
                 ", ".join(s if k is None else f"{s}:{k}" for s, k in r.assignments) or "(nowhere)")
                for r in rules
            ],
            right={1},
        )
    )  # fmt: skip
    return 0


def book_as_of_or_today(session: Any) -> date:
    try:
        return book_as_of(session)
    except WorkstationError:
        return date.today()


def cmd_templates(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = [
        {
            "template": t.name,
            "category": t.category,
            "title": t.title,
            "params": {
                k: {
                    "type": p.kind.__name__,
                    "required": p.default is REQUIRED,
                    "default": None if p.default is REQUIRED else p.default,
                    "help": p.help,
                }
                for k, p in t.params.items()
            },
        }
        for t in sorted(TEMPLATES.values(), key=lambda t: (t.category, t.name))
    ]
    if args.json:
        print_json({"templates": rows})
    else:
        for t in rows:
            params = ", ".join(
                f"{k}{'' if v['required'] else '=' + json.dumps(v['default'])}"
                for k, v in t["params"].items()
            )
            print(
                f"{t['category']:<14} {t['template']:<24} {t['title']}" + (f"  [{params}]" if params else "")
            )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        intents, rows = read_orders(s, args.file)  # the `orders import` file, checked the same way
        run = run_check(s, intents, as_of=args.as_of, source=args.file.name, rows=rows)
        out = {
            "as_of": run.book.as_of,
            "file": args.file.name,
            "rules": len(run.rules),
            "summary": {"orders": len(intents), **run.counts()},
            "orders": [run.order_dict(i, row=rows[i]) for i in range(len(intents))],
        }
    if args.json:
        print_json(out)
        return 0
    c = out["summary"]
    print(f"{c['orders']} orders checked against {out['rules']} rules as of {out['as_of']}: "
          f"{c['pass']} pass, {c['warn']} warn, {c['flag']} flag, {c['block']} block")  # fmt: skip
    for o in out["orders"]:
        limit = f" limit {o['limit_price']}" if o["limit_price"] is not None else ""
        print(
            f"row {o['row']}: {o['outcome'].upper():5} {o['account']} {o['side']} {o['quantity']:g} {o['symbol']}{limit}"
        )
        for res in o["results"]:
            if res["outcome"] != "pass":
                print(f"    {res['outcome']:5} {res['rule']}: {res['message']}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        as_of = args.as_of or book_as_of(s)
        book = load_book(s, as_of, args.account)
        breaches = scan(book, rules_in_force(s, as_of), s)
    counts: dict[str, int] = {}
    for b in breaches:
        counts[b.rule] = counts.get(b.rule, 0) + 1
    if args.json:
        print_json({"as_of": as_of, "accounts": book.n_accounts, "breaches": len(breaches), "by_rule": counts,
                    "items": [b.as_dict() for b in breaches]})  # fmt: skip
        return 0
    print(f"{len(breaches)} breaches in {book.n_accounts} accounts as of {as_of}")
    for rule, n in sorted(counts.items(), key=lambda x: -x[1]):
        print(f"  {rule:<16} {n}")
    for b in breaches[: args.limit]:
        print(f"{b.outcome:5} {b.rule:<14} {b.message}")
    if len(breaches) > args.limit:
        print(f"... {len(breaches) - args.limit} more (use --json for all)")
    return 0


def _scope(text: str) -> tuple[str, str | None]:
    scope, _, key = text.partition(":")
    return scope, key or None


def cmd_rule_set(args: argparse.Namespace) -> int:
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise WorkstationError(f"--params is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise WorkstationError("--params must be a JSON object")
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            rv = save_rule(
                s, user, args.code, args.template, args.severity, params, args.effective_from or date.today(),
                args.reason, args.description, [_scope(a) for a in args.assign or []], retire=args.retire,
            )  # fmt: skip
            print(f"rule {rv.code} version {rv.version} saved, effective {rv.effective_from}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        scope, key = _scope(args.scope)
        with database.transaction() as s:
            assign_rule(s, user, args.code, scope, key, args.effective_from or date.today(), args.reason)
        print(f"rule {args.code} assigned to {args.scope}")
    return 0


def cmd_list_add(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            e = lists.add_entry(s, user, args.list, args.symbol, args.effective_from or date.today(), args.reason,
                                args.account, args.effective_to)  # fmt: skip
            print(f"{args.symbol} on the {args.list} list from {e.effective_from} (entry {e.id})")
    return 0


def cmd_lists(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = lists.entries(s)
    if args.json:
        print_json({"entries": rows})
    else:
        print(table(["id", "list", "symbol", "account", "from", "to", "reason"],
                    [(r["id"], r["list"], r["symbol"], r["account"] or "(firm)", r["effective_from"],
                      r["effective_to"] or "", r["reason"] or "") for r in rows], right={0}))  # fmt: skip
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = approvals.queue(s)
    if args.json:
        print_json({"cases": rows})
    else:
        print(table(["case", "what", "outcome", "override", "created by", "approvals"],
                    [(r["id"], f"{r['entity']} {r['entity_id']}", r["outcome"], "yes" if r["hard_block"] else "no",
                      r["created_by"], ", ".join(r["approvals"])) for r in rows], right={0}))  # fmt: skip
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            v = approvals.decide(s, user, args.case, args.decision, args.reason_code, args.comment)
        print(
            f"case {v.id}: {v.state}" + (f" ({v.approvals} of 2 override approvals)" if v.hard_block else "")
        )
    return 0


def cmd_kill_engage(args: argparse.Namespace) -> int:
    if args.trader is not None:
        if args.scope not in (None, "trader") or (args.key is not None and args.key != args.trader):
            print("error: --trader NAME is the trader scope: give no other scope or key", file=sys.stderr)
            return 2
        args.scope, args.key = "trader", args.trader
    elif args.scope is None:
        print("error: name a scope (firm, desk, account, trader) or --trader NAME", file=sys.stderr)
        return 2
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            k = killswitch.engage(s, user, args.scope, args.key, args.reason)
            print(f"kill switch {k.id} engaged: {killswitch.describe(k)}")
    return 0


def cmd_kill_release(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            k = killswitch.release(s, user, args.id, args.reason)
            print(f"kill switch {k.id} released by {k.released_by}")
    return 0


def cmd_kill_status(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = killswitch.switches(s, include_released=args.all)
    if args.json:
        print_json({"switches": rows})
    elif not rows:
        print("no kill switch engaged: routing allowed")
    else:
        print(table(["id", "scope", "key", "engaged by", "at (UTC)", "reason", "released by"],
                    [(r["id"], r["scope"], r["key"] or "", r["engaged_by"], f"{r['engaged_at']:%Y-%m-%d %H:%M}",
                      r["reason"], r["released_by"] or "") for r in rows], right={0}))  # fmt: skip
    return 0


def cmd_desk(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            killswitch.assign_desk(s, user, args.account, args.desk, args.reason)
        print(f"{args.account} is on desk {args.desk}")
    return 0


def cmd_case(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        d = approvals.case_detail(s, args.case)
    if args.json:
        print_json(d)
        return 0
    print(f"case {d['id']}: {d['entity']} {d['entity_id']} is {d['state']} (outcome {d['outcome']}, "
          f"created by {d['created_by']}{', needs two approvers' if d['hard_block'] else ''})")  # fmt: skip
    for r in d["results"]:
        if r["outcome"] != "pass":
            print(f"  {r['outcome']:5} {r['rule']}: {r['message']}")
    for x in d["decisions"]:
        print(f"  {x['decision']} by {x['user']} ({x['reason_code']}): {x['comment']}")
    return 0
