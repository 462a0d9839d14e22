"""`workstation rebalance accept|reject|release`: the PM's review of proposals and their release to
trading, one proposal per transaction so one refusal leaves the others decided."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import WorkstationError
from engine.rebalance.batches import resolve_batch
from engine.rebalance.review import review
from engine.rebalance.tables import Proposal
from engine.release.proposals import ReleaseErrors, releasable, release_proposals
from workstation.cli.output import dumps
from workstation.cli.users import add_user_option, sign_in
from workstation.compose import open_store, order_manager

REVIEW_HELP = {
    "accept": "Accept proposals a solve produced (status ok, or rejected before): they go on to compliance "
    "and release. --user signs in and needs rebalance.run; each decision is audited.",
    "reject": "Reject proposals (status ok, or accepted and not yet released) with a reason. --user signs "
    "in and needs rebalance.run; each decision is audited.",
}


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
