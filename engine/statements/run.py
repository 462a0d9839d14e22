"""Statements in bulk: batches of whole households, each built with a few queries and drawn in a
worker process; files written as they finish, progress reported per batch, a manifest at the end.

A batch holds about BATCH accounts, never splitting a household (its statement needs all of
them). With `workers` > 1 the batches go to a process pool (spawned: each worker opens the book
itself through `opener`, read only); with 1 they run here. Files are `<period>-<code>.pdf` in the
output folder (0700, files 0600: client data); the same book gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.pricing.fx import FxTable
from engine.statements.build import build_batch
from engine.statements.fmt import locale_for
from engine.statements.household import household_doc
from engine.statements.pdf import account_flowables, render
from engine.statements.pdf_household import household_flowables
from engine.statements.performance import Series
from engine.statements.period import Period, parse_period
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.files import create_private_file, private_dir

BATCH = 100
Opener = Callable[[str], Database]


@dataclass(frozen=True)
class Job:
    """One batch: its account ids, and the households whose statement it writes."""

    url: str
    period: str
    out: str
    locale: str | None
    account_ids: tuple[int, ...]
    households: tuple[str, ...]
    accounts: bool = True


def batches(session: Session, ids: list[int], size: int = BATCH) -> Iterator[list[int]]:
    """The ids in batches of about `size`, a household's accounts always together."""
    hh = dict(session.execute(select(Account.id, Account.household_id).where(Account.id.in_(ids))).all())
    by: dict[int, list[int]] = {}
    for a in ids:
        by.setdefault(hh[a], []).append(a)
    cur: list[int] = []
    for members in by.values():
        if cur and len(cur) + len(members) > size:
            yield cur
            cur = []
        cur += members
    if cur:
        yield cur


def _write(out: Path, name: str, data: bytes) -> dict[str, Any]:
    path = out / name
    create_private_file(path)
    path.write_bytes(data)
    return {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def run_job(session: Session, job: Job) -> list[dict[str, Any]]:
    """Build, draw and write one batch's statements; a result row per account and household."""
    period = parse_period(job.period)
    out = Path(job.out)
    ids = list(job.account_ids)
    kept: dict[int, Series] = {}
    docs = build_batch(session, ids, period, job.locale, kept)
    results: list[dict[str, Any]] = []
    for d in docs:
        row: dict[str, Any] = {
            "kind": "account",
            "account": d["account"],
            "base_currency": d["base_currency"],
        }
        if "skipped" in d:
            results.append({**row, "skipped": d["skipped"]})
            continue
        row["total"] = d["totals"]["total_base"]
        q = next((w for w in d["performance"]["windows"] if w["window"] == "quarter"), None)
        row["quarter_net"] = None if q is None or q["net"] is None else round(q["net"], 6)
        if job.accounts:
            data, pages = render(account_flowables(d), f"Statement {d['period']} of account {d['account']}")
            row.update(_write(out, f"{period.label}-{d['account']}.pdf", data), pages=pages)
        results.append(row)
    if job.households:
        results += _households(session, job, period, out, docs, kept)
    return results


def _households(
    session: Session, job: Job, period: Period, out: Path, docs: list[dict[str, Any]], kept: dict[int, Series]
) -> list[dict[str, Any]]:
    fx = FxTable.load(session, start=period.windows()[-1][1] - timedelta(days=10), end=period.last)
    results: list[dict[str, Any]] = []
    for code in job.households:
        hh = session.scalars(select(Household).where(Household.code == code)).one()
        mine = [d for d in docs if d["household"] == code and "skipped" not in d]
        if not mine:
            results.append(
                {"kind": "household", "household": code, "skipped": "no account of it has a statement"}
            )
            continue
        first = session.scalars(select(Account.tax_jurisdiction).where(Account.household_id == hh.id)).first()
        doc = household_doc(session, code, hh.name, mine, kept, period, fx, locale_for(first, job.locale))
        data, pages = render(household_flowables(doc), f"Household statement {period.label} of {code}")
        results.append(
            {
                "kind": "household",
                "household": code,
                "currency": doc["currency"],
                "total": doc["total"],
                "accounts": [a["account"] for a in doc["accounts"]],
                **_write(out, f"{period.label}-{code}.pdf", data),
                "pages": pages,
            }
        )
    return results


_OPEN: dict[str, Database] = {}


def _in_worker(opener: Opener, job: Job) -> list[dict[str, Any]]:
    """A worker's batch: the book opened once per worker process (read only). A batch that fails
    (e.g. a held security without a price) is run again household by household, then account by
    account, so that one bad account fails alone: its row says `failed` and why."""
    if job.url not in _OPEN:
        _OPEN[job.url] = opener(job.url)
    with _OPEN[job.url].session() as session:
        try:
            return run_job(session, job)
        except WorkstationError as exc:
            session.rollback()
            return _split(session, job, str(exc))


def _split(session: Session, job: Job, why: str) -> list[dict[str, Any]]:
    ids = list(job.account_ids)
    rows = session.execute(
        select(Account.id, Account.code, Household.code)
        .join(Household, Household.id == Account.household_id)
        .where(Account.id.in_(ids))
    ).all()
    code = {a: c for a, c, _ in rows}
    if len(ids) == 1:
        return [{"kind": "account", "account": code[ids[0]], "failed": why}]
    groups: dict[str, list[int]] = {}
    for a, _, h in rows:
        groups.setdefault(h, []).append(a)
    out: list[dict[str, Any]] = []
    for h, members in groups.items():
        part = replace(
            job,
            account_ids=tuple(a for a in ids if a in members),
            households=tuple(x for x in job.households if x == h),
        )
        if len(groups) == 1:  # one household: account by account, its own statement not written
            for a in part.account_ids:
                out += _retry(session, replace(part, account_ids=(a,), households=()))
            out += [{"kind": "household", "household": x, "failed": why} for x in part.households]
        else:
            out += _retry(session, part)
    return out


def _retry(session: Session, job: Job) -> list[dict[str, Any]]:
    try:
        return run_job(session, job)
    except WorkstationError as exc:
        session.rollback()
        return _split(session, job, str(exc))


def generate(
    opener: Opener,
    jobs: list[Job],
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every job (in `workers` processes when more than one) and return all result rows."""
    if jobs:
        private_dir(Path(jobs[0].out))
    total = sum(len(j.account_ids) for j in jobs)
    done = 0
    results: list[list[dict[str, Any]] | None] = [None] * len(jobs)
    if workers <= 1:
        for k, job in enumerate(jobs):
            results[k] = _in_worker(opener, job)
            done += len(job.account_ids)
            if progress:
                progress(done, total)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(_in_worker, opener, job): k for k, job in enumerate(jobs)}
            for fut in as_completed(futures):
                k = futures[fut]
                results[k] = fut.result()
                done += len(jobs[k].account_ids)
                if progress:
                    progress(done, total)
    return [r for part in results if part for r in part]
