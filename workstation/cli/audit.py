"""`workstation audit`: verify the hash chain of the audit log, and read it."""

from __future__ import annotations

import argparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit.tables import AuditCheckpoint
from engine.audit.verify import VerifyReport, verify_chain
from engine.store.people import AuditEntry
from engine.store.sealing import SecretKeyUnavailable
from workstation.cli.args import row_limit
from workstation.cli.output import print_json, table
from workstation.compose import audit_verifier, open_store


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
    p = sub.add_parser("audit", help="the tamper-evident audit log")
    g = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = g.add_parser(
        "verify",
        help="recompute the hash chain and report the first broken link",
        description="Walk the audit log in order, recompute every entry's SHA-256 over the previous "
        "hash and its fields, and report the first entry that was changed, inserted or removed "
        "(exit status 1), or that the chain is intact (0). A chain whose oldest entries were purged "
        "starts at signed checkpoints, checked with the public key in the OS keychain.",
    )
    v.add_argument("--json", action="store_true", help="print the verdict as JSON")
    v.set_defaults(func=cmd_verify)
    lg = g.add_parser("log", help="the latest audit entries")
    lg.add_argument("--limit", type=row_limit, default=50, help="how many (default 50)")
    lg.add_argument("--action", help="only this action (e.g. login.failure, killswitch.engage)")
    lg.add_argument("--json", action="store_true", help="print as JSON")
    lg.set_defaults(func=cmd_log)


def verify(session: Session) -> VerifyReport:
    """verify_chain with the keychain's verifier when the chain has checkpoints (the keychain is
    not touched otherwise); a missing key makes every checkpoint unverifiable, so the chain fails."""
    if not session.scalar(select(func.count()).select_from(AuditCheckpoint)):
        return verify_chain(session)
    try:
        return verify_chain(session, verifier=audit_verifier())
    except SecretKeyUnavailable as exc:
        return verify_chain(session, unavailable=str(exc))


def cmd_verify(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        report = verify(s)
    if args.json:
        print_json(report.as_dict())
    elif report.ok and report.checkpoints:
        print(
            f"audit chain intact: {report.entries} entries verified, after {report.purged} purged "
            f"under {report.checkpoints} signed checkpoint(s)"
        )
    elif report.ok:
        print(f"audit chain intact: {report.entries} entries verified")
    else:
        where = (
            f"entry {report.first_broken_id}"
            if report.first_broken_id is not None
            else f"checkpoint {report.broken_checkpoint_id}"
            if report.broken_checkpoint_id is not None
            else "the head"
        )
        print(f"audit chain BROKEN at {where}: {report.problem}")
    return 0 if report.ok else 1


def cmd_log(args: argparse.Namespace) -> int:
    with open_store(args.db) as database, database.session() as s:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(args.limit)
        if args.action:
            q = q.where(AuditEntry.action == args.action)
        rows = list(reversed(s.scalars(q).all()))
    entries = [
        {
            "id": e.id, "at": e.at, "user": e.username, "action": e.action, "entity": e.entity,
            "entity_id": e.entity_id, "before": e.before, "after": e.after, "reason": e.reason, "hash": e.hash,
        }
        for e in rows
    ]  # fmt: skip
    if args.json:
        print_json({"entries": entries})
    else:
        print(
            table(
                ["id", "at (UTC)", "user", "action", "entity", "reason"],
                [
                    (
                        e["id"],
                        f"{e['at']:%Y-%m-%d %H:%M:%S}",
                        e["user"],
                        e["action"],
                        f"{e['entity']} {e['entity_id'] or ''}".strip(),
                        e["reason"] or "",
                    )
                    for e in entries
                ],
                right={0},
            )
        )
    return 0
