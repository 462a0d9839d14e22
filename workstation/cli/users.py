"""`workstation users`: the local user store (argon2 passwords, roles, lock-out, the second
factor), and the sign-in helper the other command groups use for commands that change something."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from engine.access import mfa, signin
from engine.access import users as svc
from engine.access.signin import DEMO_LABEL, needs_password
from engine.errors import WorkstationError
from engine.model.enums import Role
from engine.store.database import Database
from workstation.cli.output import print_json, table
from workstation.compose import open_store

PASSWORD_ENV = "WORKSTATION_PASSWORD"
NEW_PASSWORD_ENV = "WORKSTATION_NEW_PASSWORD"
TOTP_ENV = "WORKSTATION_TOTP"


def add_user_option(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--user",
        required=required,
        metavar="NAME",
        help=f"who acts (signs in with their password: ${PASSWORD_ENV}, else a prompt)",
    )


def sign_in(database: Database, username: str) -> str:
    """Sign the acting user in (engine.access.signin: password, second factor, lock-out, audit);
    their user name.

    The password comes from $WORKSTATION_PASSWORD, else a prompt; the code of a user with a second
    factor from $WORKSTATION_TOTP, else a prompt (a recovery code works too). A demo user of the
    simulated demo book is signed in without either, as on the desktop (audited `login.demo`).
    """
    return _sign_in(database, username, enrolling=False).username


def _sign_in(database: Database, username: str, enrolling: bool) -> signin.SignedIn:
    password = os.environ.get(PASSWORD_ENV)
    if password is None and needs_password(database, username):
        password = _ask(f"password for {username}: ", PASSWORD_ENV)
    code = None
    if username in mfa.second_factor_users(database):
        code = os.environ.get(TOTP_ENV) or _ask(
            f"code for {username} (authenticator app, or a recovery code): ", TOTP_ENV, "the code"
        )
    who = signin.sign_in(database, username, password, code=code, enrolling=enrolling)
    if who.demo:
        print(f"signed in as {who.username} without a password ({DEMO_LABEL}; audited)", file=sys.stderr)
    return who


def _ask(prompt: str, env: str, what: str = "the password") -> str:
    """A secret from the terminal; with no terminal to ask (a script, CI) a clear error, not a traceback."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise WorkstationError(f"no terminal to ask for {what}: set ${env}") from None


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

    _register_mfa(g)


def _register_mfa(g: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    m = g.add_parser(
        "mfa",
        help="second factor (TOTP): enrol, confirm, recovery codes, reset",
        description="The second factor: a TOTP authenticator app (RFC 6238). Compliance and admin "
        f"users need one; a user enrols their own (signing in with the password), confirms it with a "
        f"first code (--code, ${TOTP_ENV} or a prompt) and keeps the recovery codes; an admin resets "
        "another user's factor.",
    )
    mg = m.add_subparsers(dest="mfa_command", metavar="ACTION", required=True)
    e = mg.add_parser("enrol", help="start enrolling USER's authenticator app (signs in as USER)")
    e.add_argument("username", metavar="USER")
    e.add_argument("--qr", metavar="FILE.png", help="also write the QR code to this PNG file")
    e.add_argument("--json", action="store_true", help="print as JSON")
    e.set_defaults(func=cmd_mfa_enrol)
    c = mg.add_parser("confirm", help="confirm USER's enrolment with a first code; prints the recovery codes")
    c.add_argument("username", metavar="USER")
    c.add_argument("--code", help=f"the code the app shows now (else ${TOTP_ENV}, else a prompt)")
    c.add_argument("--json", action="store_true", help="print as JSON")
    c.set_defaults(func=cmd_mfa_confirm)
    r = mg.add_parser("recovery", help="replace USER's recovery codes (signs in as USER with a code)")
    r.add_argument("username", metavar="USER")
    r.add_argument("--json", action="store_true", help="print as JSON")
    r.set_defaults(func=cmd_mfa_recovery)
    ro = mg.add_parser(
        "roles",
        help="show the roles that need a second factor, or set them (admin; compliance and admin always)",
    )
    ro.add_argument(
        "roles", nargs="*", metavar="ROLE", help="the roles that need one (besides compliance, admin)"
    )
    ro.add_argument("--reason", help="why (needed to set)")
    ro.add_argument("--json", action="store_true", help="print as JSON")
    add_user_option(ro, required=False)
    ro.set_defaults(func=cmd_mfa_roles)
    x = mg.add_parser("reset", help="clear another user's second factor (admin; they enrol again)")
    x.add_argument("username", metavar="USER")
    x.add_argument("--reason", required=True)
    add_user_option(x)
    x.set_defaults(func=cmd_mfa_reset)
    se = mg.add_parser(
        "seal",
        help="seal every TOTP secret still stored in clear with the OS keychain's key (admin; after an upgrade)",
    )
    se.add_argument("--reason", required=True)
    add_user_option(se)
    se.set_defaults(func=cmd_mfa_seal)


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
                ["user", "name", "role", "active", "password", "2nd factor", "failed", "locked until"],
                [
                    (
                        r["username"],
                        r["display_name"],
                        r["role"],
                        "yes" if r["active"] else "no",
                        "set" if r["has_password"] else "none",
                        r["second_factor"],
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


def cmd_mfa_enrol(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        who = _sign_in(database, args.username, enrolling=True)
        with database.transaction() as s:
            enrolment = mfa.begin_enrolment(s, who.username, args.username)
    if args.qr:
        import segno

        segno.make(enrolment.uri, error="m").save(args.qr, scale=8, border=4)
    if args.json:
        print_json({"username": enrolment.username, "secret": enrolment.secret, "uri": enrolment.uri})
    else:
        print(f"add this to {args.username}'s authenticator app (shown this once):")
        print(f"  secret: {enrolment.secret}")
        print(f"  uri:    {enrolment.uri}")
        if args.qr:
            print(f"  QR code written to {args.qr}")
        print(f"then confirm with a first code: workstation users mfa confirm {args.username} --code CODE")
    return 0


def _print_codes(args: argparse.Namespace, codes: list[str]) -> None:
    if args.json:
        print_json({"username": args.username, "recovery_codes": codes})
    else:
        print(f"recovery codes for {args.username} (each works once; keep them offline, shown this once):")
        for code in codes:
            print(f"  {code}")


def cmd_mfa_confirm(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        who = _sign_in(database, args.username, enrolling=True)
        code = args.code or os.environ.get(TOTP_ENV) or _ask("code the app shows now: ", TOTP_ENV, "the code")
        with database.transaction() as s:
            codes = mfa.confirm(s, who.username, args.username, code)
    _print_codes(args, codes)
    return 0


def cmd_mfa_recovery(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.username)
        with database.transaction() as s:
            codes = mfa.new_recovery_codes(s, actor, args.username)
    _print_codes(args, codes)
    return 0


def cmd_mfa_reset(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user)
        with database.transaction() as s:
            mfa.reset(s, actor, args.username, args.reason)
    print(f"second factor of {args.username} reset: they enrol again at their next sign-in")
    return 0


def cmd_mfa_seal(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        actor = sign_in(database, args.user)
        with database.transaction() as s:
            n = mfa.seal_clear_secrets(s, actor, args.reason)
    print(f"{n} second-factor secret(s) sealed; none is stored in clear")
    return 0


def cmd_mfa_roles(args: argparse.Namespace) -> int:
    with open_store(args.db) as database:
        if args.roles:
            if not args.user or not args.reason:
                raise WorkstationError("setting the roles needs --user ADMIN and --reason")
            actor = sign_in(database, args.user)
            with database.transaction() as s:
                mfa.set_required_roles(s, actor, args.roles, args.reason)
        with database.session() as s:
            roles = sorted(mfa.required_roles(s))
    if args.json:
        print_json({"required_roles": roles})
    else:
        print("roles that need a second factor: " + ", ".join(roles))
    return 0
