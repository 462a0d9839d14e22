"""The retention policy in force: a period per record kind (table `retention_policies`, the
documented default for a kind without a row); an admin changes it, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import WorkstationError
from engine.retention.kinds import BY_CODE, KINDS
from engine.retention.tables import RetentionPolicy

MIN_MONTHS, MAX_MONTHS = 1, 1200


@dataclass(frozen=True)
class Period:
    """The period of one kind: months, whether it is the default, who changed it last and when."""

    kind: str
    title: str
    months: int
    default_months: int
    note: str
    changed_by: str | None
    changed_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "title": self.title, "months": self.months,
            "default_months": self.default_months, "note": self.note,
            "changed_by": self.changed_by, "changed_at": self.changed_at,
        }  # fmt: skip


def periods(session: Session) -> dict[str, Period]:
    """Every kind's period, in the documented order."""
    rows = {r.kind: r for r in session.scalars(select(RetentionPolicy))}
    out: dict[str, Period] = {}
    for k in KINDS:
        r = rows.get(k.code)
        out[k.code] = Period(
            k.code, k.title, r.months if r else k.default_months, k.default_months,
            r.note if r else "", r.changed_by if r else None, r.changed_at if r else None,
        )  # fmt: skip
    return out


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day when it is shorter: 29 Feb -> 28 Feb)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    for d in range(day.day, 27, -1):
        try:
            return date(y, m, d)
        except ValueError:
            continue
    return date(y, m, min(day.day, 28))


def set_period(session: Session, actor: str, kind: str, months: int, reason: str) -> Period:
    """An admin sets a kind's period (`retention.policy`); audited `retention.policy` with before and after."""
    require(session, actor, Permission.RETENTION_POLICY)
    if kind not in BY_CODE:
        raise WorkstationError(f"unknown record kind {kind!r}; one of {', '.join(BY_CODE)}")
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise WorkstationError(f"months: {months} is not between {MIN_MONTHS} and {MAX_MONTHS}")
    if not reason.strip():
        raise WorkstationError("a reason is required")
    before = periods(session)[kind]
    row = session.get(RetentionPolicy, kind)
    now = datetime.now(UTC)
    if row is None:
        session.add(RetentionPolicy(kind=kind, months=months, note=reason, changed_by=actor, changed_at=now))
    else:
        row.months, row.note, row.changed_by, row.changed_at = months, reason, actor, now
    session.flush()
    record(
        session, actor, "retention.policy", "retention_policy", kind,
        before={"months": before.months}, after={"months": months}, reason=reason,
    )  # fmt: skip
    return periods(session)[kind]
