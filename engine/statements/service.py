"""`statements`: who may generate them, which batches, and the manifest and audit entry at the end.

Generating client statements reads the book but sends client documents out of it, so the user
signs in and needs `statements.generate` (operations, compliance, admin); the run is audited
(`statements.generate`: period, scope, counts, the manifest's SHA-256) once the files are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.reports.scope import account_ids
from engine.statements.fmt import locale_for
from engine.statements.period import Period, parse_period
from engine.statements.run import BATCH, Job, batches
from engine.statements.tables import StatementRecord
from engine.store.accounts import Account, Household
from engine.store.files import create_private_file


def plan(
    session: Session,
    actor: str,
    period_text: str,
    out: Path,
    accounts: Sequence[str] = (),
    household: str | None = None,
    everything: bool = False,
    locale: str | None = None,
    url: str = "",
    size: int = BATCH,
) -> tuple[Period, list[Job]]:
    """Check the user and the options, and cut the work into batches (nothing is written)."""
    require(session, actor, Permission.STATEMENTS)
    period = parse_period(period_text)
    if locale:
        locale_for(None, locale)  # a clear error before any work
    ids = account_ids(session, accounts, household, everything)
    if household is not None:
        wanted = {household}
    elif everything:  # households of two or more accounts (one account: its own statement says it all)
        wanted = set(
            session.scalars(
                select(Household.code)
                .join(Account, Account.household_id == Household.id)
                .group_by(Household.code)
                .having(func.count(Account.id) > 1)
            )
        )
    else:
        wanted = set()
    hh = dict(
        session.execute(
            select(Account.id, Household.code)
            .join(Household, Household.id == Account.household_id)
            .where(Account.id.in_(ids))
        ).all()
    )
    jobs = []
    for batch in batches(session, ids, size):
        mine = tuple(sorted({hh[a] for a in batch} & wanted))
        jobs.append(Job(url, period.label, str(out), locale, tuple(batch), mine))
    return period, jobs


def summary(period: Period, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's `--json` document (shape in docs/reports.md#statements)."""
    written = [r for r in results if "file" in r]
    return {
        "report": "statements", "period": period.label, "from": period.first.isoformat(), "to": period.last.isoformat(),
        "accounts": sum(1 for r in results if r["kind"] == "account"),
        "written": len(written), "pages": sum(r["pages"] for r in written), "bytes": sum(r["bytes"] for r in written),
        "skipped": [r for r in results if "skipped" in r],
        "failed": [r for r in results if "failed" in r],
        "statements": written,
    }  # fmt: skip


def finish(
    session: Session,
    actor: str,
    period: Period,
    out: Path,
    doc: dict[str, Any],
    scope: str,
    at: datetime | None = None,
) -> str:
    """Write the manifest (`<period>-manifest.json`), a client_statements row per file and the audit
    entry; the manifest's SHA-256."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    manifest = {**doc, "generated_at": at.isoformat(), "generated_by": actor, "scope": scope}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    path = out / f"{period.label}-manifest.json"
    create_private_file(path)
    path.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    _records(session, actor, period, doc["statements"], at)
    record(
        session, actor, "statements.generate", "statements", period.label,
        after={"scope": scope, "written": doc["written"], "skipped": len(doc["skipped"]), "failed": len(doc["failed"]),
               "manifest_sha256": digest},
        reason="client statements generated", at=at,
    )  # fmt: skip
    return digest


def _records(
    session: Session, actor: str, period: Period, written: list[dict[str, Any]], at: datetime
) -> None:
    """A client_statements row per file written (retention kind `statements`)."""
    accounts = dict(session.execute(select(Account.code, Account.id)).all())
    households = dict(session.execute(select(Household.code, Household.id)).all())
    for r in written:
        session.add(
            StatementRecord(
                period=period.label, period_end=period.last, kind=r["kind"],
                account_id=accounts.get(r.get("account", "")), household_id=households.get(r.get("household", "")),
                file=r["file"], sha256=r["sha256"], pages=r["pages"], bytes=r["bytes"],
                generated_by=actor, generated_at=at,
            )
        )  # fmt: skip
