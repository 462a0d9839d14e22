"""`workstation users`: the local user store (argon2 passwords, roles, lock-out), and the
sign-in helper the other command groups use for commands that change something."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from engine.access import signin
from engine.access import users as svc
from engine.access.signin import DEMO_LABEL, needs_password
from engine.errors import WorkstationError
from engine.model.enums import Role
from engine.store.database import Database
from workstation.cli.output import print_json, table
from workstation.compose import open_store

PASSWORD_ENV = "WORKSTATION_PASSWORD"
NEW_PASSWORD_ENV = "WORKSTATION_NEW_PASSWORD"


def add_user_option(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--user",
        required=required,
        metavar="NAME",
        help=f"who acts (signs in with their password: ${PASSWORD_ENV}, else a prompt)",
    )


def sign_in(database: Database, username: str) -> str:
    """Sign the acting user in (engine.access.signin: password, lock-out, audit); their user name.

    The password comes from $WORKSTATION_PASSWORD, else a prompt. A demo user of the simulated
    demo book is signed in without one, as on the desktop (audited `login.demo`, said on stderr).
    """
    password = os.environ.get(PASSWORD_ENV)
    if password is None and needs_password(database, username):
        password = _ask(f"password for {username}: ", PASSWORD_ENV)
    who = signin.sign_in(database, username, password)
    if who.demo:
        print(f"signed in as {who.username} without a password ({DEMO_LABEL}; audited)", file=sys.stderr)
    return who.username


def _ask(prompt: str, env: str) -> str:
    """A password from the terminal; with no terminal to ask (a script, CI) a clear error, not a traceback."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise WorkstationError(f"no terminal to ask for the password: set ${env}") from None


def new_password(username: str) -> str:
    pw = os.environ.get(NEW_PASSWORD_ENV)
    if pw is not None:
        return pw
    first = _ask(f"new password for {username}: ", NEW_PASSWORD_ENV)
    if _ask("again: ", NEW_PASSWORD_ENV) != first:
        raise WorkstationError("the two passwords differ; nothing was changed")
    return first


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("users", help="desk users, roles and passwords (admin)")
    g = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    a = g.add_parser(
        "add",
        help="add a user (only the first admin of a book with no users needs no --user)",
        description=f"Add a user with a role. The password comes from ${NEW_PASSWORD_ENV} or is asked twice. "
        "--user signs in an admin; only a book with no users at all may create its first admin without one.",
    )
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=[r.value for r in Role])
    a.add_argument("--name", help="display name (default: the user name)")
    add_user_option(a, required=False)
    a.set_defaults(func=cmd_add)

    ls = g.add_parser("list", help="list users")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=cmd_list)

    pw = g.add_parser("passwd", help="set a password (your own, or anyone's as admin)")
    pw.add_argument("username")
    add_user_option(pw)
    pw.set_defaults(func=cmd_passwd)

    for name, helptext in (
        ("unlock", "clear a lock-out"),
        ("disable", "deactivate"),
        ("enable", "reactivate"),
    ):
        c = g.add_parser(name, help=helptext)
        c.add_argument("username")
        c.add_argument("--reason", required=True)
        add_user_option(c)
        c.set_defaults(func=cmd_change, action=name)

    r = g.add_parser("role", help="change a user's role")
    r.add_argument("username")
    r.add_argument("role", choices=[x.value for x in Role])
    r.add_argument("--reason", required=True)
    add_user_option(r)
    r.set_defaults(func=cmd_change, action="role")

    li = g.add_parser("login", help="check a user name and password (counts toward lock-out)")
    li.add_argument("username")
    li.set_defaults(func=cmd_login)


def cmd_add(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user) if args.user else None
        pw = new_password(args.username)
        with database.transaction() as s:
            svc.create_user(s, actor, args.username, args.name or args.username, args.role, pw)
        print(f"user {args.username} ({args.role}) added")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        rows = svc.list_users(s)
    if args.json:
        print_json({"users": rows})
    else:
        print(
            table(
                ["user", "name", "role", "active", "password", "failed", "locked until"],
                [
                    (
                        r["username"],
                        r["display_name"],
                        r["role"],
                        "yes" if r["active"] else "no",
                        "set" if r["has_password"] else "none",
                        r["failed_logins"],
                        r["locked_until"] or "",
                    )
                    for r in rows
                ],
            )
        )
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user)
        pw = new_password(args.username)
        with database.transaction() as s:
            svc.set_password(s, actor, args.username, pw)
        print(f"password of {args.username} set")
    return 0


def cmd_change(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user)
        with database.transaction() as s:
            fn: Any = {
                "unlock": lambda: svc.unlock(s, actor, args.username, args.reason),
                "disable": lambda: svc.set_active(s, actor, args.username, False, args.reason),
                "enable": lambda: svc.set_active(s, actor, args.username, True, args.reason),
                "role": lambda: svc.set_role(s, actor, args.username, args.role, args.reason),
            }[args.action]
            fn()
        print(f"{args.username}: {args.action} done")
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        user = sign_in(database, args.username)
    print(f"signed in as {user}")
    return 0
