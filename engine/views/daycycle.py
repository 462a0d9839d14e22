"""The day cycle as the desktop's operations workspace reads it: the last closed date, the runs,
each step of a date (status, counts, exceptions) and the inbox files with what each brought.

Plain rows (dicts of str/int), built from engine.daycycle's tables in one session, so the dock
shows them without touching the engine on the GUI thread. `close` runs engine.daycycle.cycle's
`close_day` with the inbox the composition root hands over (`DayCycleLink`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.daycycle.cycle import DayResult, close_day, last_closed
from engine.daycycle.inbox import InboxKind
from engine.daycycle.steps import STEPS
from engine.daycycle.tables import DayRun, DayStep, InboxFile
from engine.model.currency import minor_units
from engine.store.database import Database

RUN_LIMIT = 60
"""Runs listed (the latest first)."""


@dataclass(frozen=True)
class DayCycleLink:
    """Where the day cycle reads its files: the inbox folder and the registry of readers
    (workstation.compose.inbox_kinds), handed to the desktop by the composition root."""

    inbox: Path
    kinds: Sequence[InboxKind]


@dataclass
class DayOverview:
    """What the Day cycle dock shows for `day` (None: no run yet)."""

    last_closed: date | None
    day: date | None
    runs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


_NUMBER = re.compile(r"-?\d+\.\d+")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _value(v: Any, currency: str | None = None, top: bool = False) -> str:
    """One count as a desk reads it: integers with separators, amounts in the minor units of the
    currency they are under (a dict keyed by currency), lists by their length."""
    if isinstance(v, dict):
        inner = ", ".join(
            f"{k} {_value(vv, k if _CURRENCY.fullmatch(str(k)) else currency)}" for k, vv in v.items()
        )
        return (inner or "none") if top else f"({inner})"
    if isinstance(v, list):
        return f"{len(v):,}"
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float | Decimal) or (isinstance(v, str) and _NUMBER.fullmatch(v)):
        places = minor_units(currency) if currency else 2
        return f"{Decimal(str(v)):,.{places}f}"
    return str(v)


def _counts(counts: dict[str, Any] | None) -> str:
    """`{"loaded": 2, "refused": 0}` as "loaded 2 · refused 0" (nested values flattened, amounts in
    their currency's minor units)."""
    return " · ".join(f"{k.replace('_', ' ')} {_value(v, top=True)}" for k, v in (counts or {}).items())


def _problem(p: Any) -> tuple[str, str, str]:
    """(row, field, reason) of a refused file's problem, whatever shape it was stored in."""
    if isinstance(p, dict):
        row = p.get("row", p.get("line", ""))
        return ("" if row is None else str(row), str(p.get("field", "") or ""), str(p.get("reason", p)))
    return "", "", str(p)


def exception_rows(step: str, exceptions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per exception of a step; a refused file gives one row per row/field/reason."""
    out: list[dict[str, Any]] = []
    for e in exceptions:
        kind = str(e.get("kind", "exception"))
        if kind == "refused_file":
            for p in e.get("problems") or [{"reason": "refused"}]:
                row, fld, reason = _problem(p)
                out.append({"step": step, "kind": kind, "subject": str(e.get("file", "")), "row": row,
                            "field": fld, "reason": reason})  # fmt: skip
            continue
        subject = next(
            (str(e[k]) for k in ("name", "ref", "file", "security", "account", "custodian") if e.get(k)), ""
        )
        reason = str(e.get("reason") or "")
        if not reason:
            rest = {k: v for k, v in e.items() if k not in ("kind", "name", "ref") and v not in (None, "")}
            reason = ", ".join(f"{k} {v}" for k, v in rest.items())
        out.append({"step": step, "kind": kind, "subject": subject, "row": "", "field": "", "reason": reason})
    return out


def _iso(v: Any) -> str:
    """A stored UTC time as "YYYY-MM-DD HH:MM:SS" (empty when not set)."""
    return v.strftime("%Y-%m-%d %H:%M:%S") if v else ""


def overview(session: Session, day: date | None = None) -> DayOverview:
    """The runs, and the steps, exceptions and inbox files of `day` (default: the latest run)."""
    runs = list(session.scalars(select(DayRun).order_by(DayRun.day.desc()).limit(RUN_LIMIT)))
    if day is None and runs:
        day = runs[0].day
    out = DayOverview(last_closed(session), day)
    out.runs = [
        {
            "day": r.day.isoformat(),
            "status": r.status,
            "run_by": r.run_by,
            "started": _iso(r.started_at),
            "finished": _iso(r.finished_at),
        }
        for r in runs
    ]
    if day is None:
        return out
    order = {s.name: i for i, s in enumerate(STEPS)}
    steps = sorted(
        session.scalars(select(DayStep).where(DayStep.day == day)), key=lambda s: order.get(s.step, 99)
    )
    for s in steps:
        out.steps.append({"position": s.position, "step": s.step, "status": s.status,
                          "counts": _counts(s.counts), "exceptions": len(exception_rows(s.step, s.exceptions or [])),
                          "finished": _iso(s.finished_at)})  # fmt: skip
        out.exceptions += exception_rows(s.step, s.exceptions or [])
    files = session.scalars(select(InboxFile).where(InboxFile.day == day).order_by(InboxFile.name))
    for f in files:
        errors = [" / ".join(x for x in _problem(p) if x) for p in (f.errors or [])]
        out.files.append({"id": f.id, "name": f.name, "folder": f.folder, "kind": f.kind, "status": f.status,
                          "brought": _counts(f.counts), "errors": "; ".join(errors)})  # fmt: skip
    return out


def next_business_day(after: date | None, today: date) -> date:
    """The date a close should default to: the weekday after the last closed one (the previous
    weekday of `today` when nothing was closed yet)."""
    d = after + timedelta(days=1) if after else today - timedelta(days=1)
    step = 1 if after else -1
    while d.weekday() >= 5:
        d += timedelta(days=step)
    return d


def close(
    database: Database, link: DayCycleLink, day: date, username: str, progress: Callable[[str], None]
) -> DayResult:
    """Close `day` as `username` through engine.daycycle (permission checked there: fails closed)."""
    return close_day(database, day, username, inbox=link.inbox, kinds=link.kinds, progress=progress)
