"""`workstation model`: show a model's weights, set them from CSV (versioned), list its history."""

from __future__ import annotations

import argparse

from engine.imports.weights_csv import read_weights
from engine.portfolio_models import service
from workstation.cli.args import input_file
from workstation.cli.output import print_json, table
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("model", help="model portfolios: weights and their versions")
    g = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    s = g.add_parser("show", help="a model's current weights and version")
    s.add_argument("code", metavar="CODE")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s.set_defaults(func=cmd_show)
    st = g.add_parser(
        "set",
        help="replace a model's weights from a CSV file (needs models.edit)",
        description="FILE.csv has columns symbol,weight (weights are fractions summing to 1; a "
        "sub_model column targets another model). The model is created if new. Every change is "
        "a new version, audited; unchanged weights write nothing. --user signs in with their "
        "password ($WORKSTATION_PASSWORD, else a prompt).",
    )
    st.add_argument("code", metavar="CODE")
    st.add_argument("file", metavar="FILE.csv", type=input_file)
    add_user_option(st)
    st.add_argument("--note", default="", help="why (kept with the version and in the audit log)")
    st.add_argument("--name", help="the model's name (new models; default: the code)")
    st.add_argument("--json", action="store_true", help="print the result as JSON")
    st.set_defaults(func=cmd_set)
    h = g.add_parser("history", help="every version of a model, oldest first")
    h.add_argument("code", metavar="CODE")
    h.add_argument("--json", action="store_true", help="print as JSON")
    h.set_defaults(func=cmd_history)


def _target(w: dict[str, str]) -> str:
    return w.get("symbol") or f"model:{w.get('sub_model')}"


def cmd_show(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        data = service.show(s, args.code)
    if args.json:
        print_json(data)
        return 0
    print(f"model {data['code']} ({data['name']}), version {data['version'] or '-'}")
    print(table(["target", "weight"], [(_target(w), w["weight"]) for w in data["weights"]], right={1}))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    rows = read_weights(args.file)
    with open_store(args.db) as database:
        user = sign_in(database, args.user)
        with database.transaction() as s:
            result = service.set_weights(
                s, user, args.code, rows, note=args.note, name=args.name, source=str(args.file)
            )
    if args.json:
        print_json(
            {
                "code": result.code,
                "version": result.version,
                "changed": result.changed,
                "created": result.created,
            }
        )
    elif result.changed:
        print(f"model {result.code}: version {result.version} written")
    else:
        print(f"model {result.code}: weights unchanged, still version {result.version}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        versions = service.history(s, args.code)
    if args.json:
        print_json({"code": args.code, "versions": versions})
        return 0
    print(
        table(
            ["version", "at (UTC)", "by", "targets", "note"],
            [
                (v["version"], v["created_at"][:19], v["created_by"], len(v["weights"]), v["note"])
                for v in versions
            ],
            right={0, 3},
        )
    )
    return 0
