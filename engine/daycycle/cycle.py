"""Close a date: run the steps in order, each recorded; resumable, idempotent, fail closed.

`close_day` checks `day.close` for the signed-in user first (PermissionDenied, audited, nothing
run). A date already closed is left alone (the summary says so) unless `rerun`; a date before
the last closed one is refused unless `rerun` (re-running a past date values the book as it
stands now: meant for the last closed date after a late file). The previous business day need
not be closed: flows booked on a date that was never closed count at the next close.

Every status (the run's, each step's) moves through engine.state.daycycle with its audit entry.
A step that raises marks itself and the run failed, with the error as its exception, and
`close_day` returns the failed summary; closing the date again resumes at that step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.daycycle.inbox import InboxKind
from engine.daycycle.steps import STEPS, DayContext, Outcome, Step
from engine.daycycle.tables import DayRun, DayStep
from engine.errors import PermissionDenied, WorkstationError
from engine.state.daycycle import CLOSED, DAY_RUNS, DAY_STEPS, DONE, FAILED, RUNNING
from engine.store.base import utcnow
from engine.store.database import Database

Progress = Callable[[str], None]


class DayCycleError(WorkstationError):
    """A close the cycle refuses (a date before the last closed one without --rerun)."""


@dataclass(frozen=True)
class DayResult:
    """The `day close --json` / `day status --json` document for one date."""

    day: date
    status: str
    steps: list[dict[str, Any]]
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"date": self.day.isoformat(), "status": self.status, "steps": self.steps}
        if self.note:
            out["note"] = self.note
        return out


def _quiet(line: str) -> None:
    return None


def authorize_close(session: Session, username: str) -> str:
    """The user if they may close a day (day.close); PermissionDenied, audited, otherwise."""
    return require(session, username, Permission.DAY_CLOSE).username


def last_closed(session: Session) -> date | None:
    return session.scalar(select(func.max(DayRun.day)).where(DayRun.status == CLOSED))


def close_day(
    database: Database,
    day: date,
    username: str,
    *,
    inbox: Path,
    kinds: Sequence[InboxKind],
    rerun: bool = False,
    progress: Progress = _quiet,
    steps: Sequence[Step] = STEPS,
) -> DayResult:
    """Close `day` as `username` (see the module docstring); the summary of the run."""
    with database.transaction() as s:
        authorize_close(s, username)
        run = s.scalars(select(DayRun).where(DayRun.day == day)).one_or_none()
        latest = last_closed(s)
        if run is not None and run.status == CLOSED and not rerun:
            progress(f"{day}: already closed; nothing to do (--rerun runs every step again)")
            return day_status(database, day, note="already closed")
        if latest is not None and day < latest and not rerun:
            raise DayCycleError(
                f"{day} is before the last closed date {latest}: use --rerun to close it again"
            )
        if run is None:
            run = DayRun(day=day, run_by=username)
            DAY_RUNS.start(s, run, RUNNING, actor=username, event="start", detail={"day": day})
        elif run.status == CLOSED:
            DAY_RUNS.fire(s, run, "rerun", actor=username, detail={"day": day})
        elif run.status == FAILED:
            DAY_RUNS.fire(s, run, "resume", actor=username, detail={"day": day})
        run_id = run.id
        done = {st.step for st in s.scalars(select(DayStep).where(DayStep.day == day)) if st.status == DONE}
    ctx = DayContext(database, day, username, inbox, kinds)
    for position, step in enumerate(steps, start=1):
        if step.name in done and not rerun:
            progress(f"{day} {position}/{len(steps)} {step.name}: done before, skipped")
            continue
        progress(f"{day} {position}/{len(steps)} {step.name} ...")
        started = time.perf_counter()
        ok = _run_step(database, ctx, run_id, position, step)
        took = time.perf_counter() - started
        progress(f"{day} {position}/{len(steps)} {step.name}: {'done' if ok else 'FAILED'} in {took:.1f} s")
        if not ok:
            return day_status(database, day)
    with database.transaction() as s:
        run = s.get(DayRun, run_id)
        assert run is not None
        run.finished_at = utcnow()
        DAY_RUNS.fire(s, run, "close", actor=username, detail={"day": day})
    return day_status(database, day)


def _begin_step(s: Session, run_id: int, day: date, position: int, name: str, username: str) -> DayStep:
    st = s.scalars(select(DayStep).where(DayStep.day == day, DayStep.step == name)).one_or_none()
    if st is None:
        st = DayStep(run_id=run_id, day=day, step=name, position=position, counts={}, exceptions=[])
        DAY_STEPS.start(s, st, RUNNING, actor=username, event="start")
        return st
    st.run_id, st.started_at, st.finished_at = run_id, utcnow(), None
    DAY_STEPS.fire(s, st, "rerun" if st.status == DONE else "retry", actor=username)
    return st


def _finish(s: Session, st: DayStep, outcome: Outcome, username: str) -> None:
    counts, exceptions = outcome
    st.counts, st.exceptions, st.finished_at = counts, exceptions, utcnow()
    DAY_STEPS.fire(s, st, "finish", actor=username, detail={"counts": counts, "exceptions": len(exceptions)})


def _run_step(database: Database, ctx: DayContext, run_id: int, position: int, step: Step) -> bool:
    """Run one step with its record; False (step and run failed, recorded) when it raised."""
    with database.transaction() as s:
        step_id = _begin_step(s, run_id, ctx.day, position, step.name, ctx.username).id
    try:
        if step.transactional:
            with database.transaction() as s:
                outcome = step.run(ctx, s)
                st = s.get(DayStep, step_id)
                assert st is not None
                _finish(s, st, outcome, ctx.username)
        else:
            outcome = step.run(ctx, None)
            with database.transaction() as s:
                st = s.get(DayStep, step_id)
                assert st is not None
                _finish(s, st, outcome, ctx.username)
        return True
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        with database.transaction() as s:
            st = s.get(DayStep, step_id)
            run = s.get(DayRun, run_id)
            assert st is not None and run is not None
            st.exceptions = [{"kind": "error", "error": type(exc).__name__, "reason": reason}]
            st.finished_at = utcnow()
            DAY_STEPS.fire(s, st, "fail", actor=ctx.username, reason=reason)
            DAY_RUNS.fire(s, run, "fail", actor=ctx.username, reason=f"{step.name}: {reason}")
        if isinstance(exc, PermissionDenied):
            raise
        return False


def _step_dict(st: DayStep) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": st.step,
        "status": st.status,
        "counts": st.counts,
        "exceptions": st.exceptions,
    }
    out["started"] = st.started_at.isoformat() if st.started_at else None
    out["finished"] = st.finished_at.isoformat() if st.finished_at else None
    return out


def day_status(database: Database, day: date | None = None, note: str | None = None) -> DayResult:
    """The record of `day` (default: the latest date with a run); status `none` when never run."""
    with database.session() as s:
        if day is None:
            day = s.scalar(select(func.max(DayRun.day)))
            if day is None:
                raise DayCycleError("no day has been closed yet")
        run = s.scalars(select(DayRun).where(DayRun.day == day)).one_or_none()
        if run is None:
            return DayResult(day, "none", [], note)
        order = {st.name: i for i, st in enumerate(STEPS)}
        rows = sorted(
            s.scalars(select(DayStep).where(DayStep.day == day)), key=lambda x: order.get(x.step, 99)
        )
        return DayResult(day, run.status, [_step_dict(st) for st in rows], note)
