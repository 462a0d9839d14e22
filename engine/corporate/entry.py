"""Entering corporate actions: a vendor's file (`load`, corporate.load) and one at a time by hand
(`add`, bookings.enter), which a different user approves or rejects (bookings.approve).

Everything is checked before anything is written: the terms (engine.corporate.terms), the
securities named (symbol or ISIN), and the reference (a reference already stored with the same
terms is skipped, so a file loads again harmlessly; with other terms it is an error). Statuses
move through engine.state.corporate (audited in the same transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access.errors import SegregationOfDuties
from engine.access.guard import require
from engine.access.permissions import Permission
from engine.accounting.tables import CorporateAction
from engine.audit.chain import record_separately
from engine.corporate.terms import ActionTerms, check
from engine.errors import ImportValidationError, NotFound, Problem, WorkstationError
from engine.state.corporate import ANNOUNCED, CORPORATE_ACTIONS, PENDING_APPROVAL
from engine.store.reference import Security

TERM_COLUMNS = ("announce_date", "ex_date", "record_date", "pay_date", "ratio_new", "ratio_old", "amount",
                "allocation", "new_price", "lieu_price", "new_symbol", "new_isin")  # fmt: skip


class CorporateActionError(WorkstationError):
    """A corporate action that cannot be entered, approved or rejected (says which and why)."""


@dataclass(frozen=True)
class LoadResult:
    """A file loaded: actions stored (announced) and references already stored with these terms."""

    source: str
    stored: list[str]
    unchanged: list[str]


def _security(session: Session, ident: str) -> Security | None:
    return session.scalars(
        select(Security).where(or_(Security.symbol == ident, Security.isin == ident)).order_by(Security.id)
    ).first()


def _row(session: Session, t: ActionTerms) -> tuple[CorporateAction | None, list[tuple[str, str]]]:
    """The ORM row for the terms, or the (field, reason) problems that refuse it."""
    problems = check(t)
    sec = _security(session, t.security)
    if sec is None:
        problems.append(("security", f"no security {t.security!r} (symbol or ISIN)"))
    new = None
    if t.new_security:
        new = _security(session, t.new_security)
        if new is None:
            problems.append(("new_security", f"no security {t.new_security!r} (symbol or ISIN)"))
        elif sec is not None and new.id == sec.id:
            problems.append(("new_security", "is the security itself"))
    if problems or sec is None:
        return None, problems
    row = CorporateAction(ref=t.ref, security_id=sec.id, kind=t.stored_kind,
                          new_security_id=new.id if new else None,
                          **{c: getattr(t, c) for c in TERM_COLUMNS})  # fmt: skip
    return row, []


def _same(a: CorporateAction, b: CorporateAction) -> bool:
    def norm(v: object) -> object:
        return Decimal(v).normalize() if isinstance(v, Decimal | int | float) and v is not None else v

    keys = ("security_id", "kind", "new_security_id", *TERM_COLUMNS)
    return all(norm(getattr(a, k)) == norm(getattr(b, k)) for k in keys)


def _existing(session: Session, refs: Sequence[str]) -> dict[str, CorporateAction]:
    found: dict[str, CorporateAction] = {}
    for i in range(0, len(refs), 500):
        for a in session.scalars(select(CorporateAction).where(CorporateAction.ref.in_(refs[i : i + 500]))):
            found[a.ref] = a
    return found


def load(
    session: Session,
    source: str,
    rows: Sequence[tuple[int, ActionTerms]],
    *,
    username: str,
    problems: Sequence[Problem] = (),
) -> LoadResult:
    """Store a vendor file's actions as announced, all or nothing (ImportValidationError lists
    every row, field and reason, with the file's own `problems` from engine.corporate.csvfile).
    `rows` are (file row number, terms)."""
    require(session, username, Permission.CORPORATE_LOAD)
    found = list(problems)
    seen: dict[str, int] = {}
    built: list[tuple[int, CorporateAction]] = []
    existing = _existing(session, sorted({t.ref for _, t in rows}))
    unchanged: list[str] = []
    for number, t in rows:
        if t.ref in seen:
            found.append(Problem(number, "ref", f"{t.ref!r} is also on row {seen[t.ref]}"))
            continue
        seen[t.ref] = number
        row, bad = _row(session, t)
        found += [Problem(number, f, why) for f, why in bad]
        if row is None:
            continue
        prior = existing.get(t.ref)
        if prior is not None:
            if _same(prior, row):
                unchanged.append(t.ref)
            else:
                found.append(Problem(number, "ref", f"{t.ref!r} is already stored with other terms"))
            continue
        row.source, row.entered_by = source[:128], username
        built.append((number, row))
    if found:
        raise ImportValidationError(source, found)
    CORPORATE_ACTIONS.start_many(session, [(r, ANNOUNCED) for _, r in built], actor=username, event="load",
                                 detail={"source": source})  # fmt: skip
    return LoadResult(source, [r.ref for _, r in built], unchanged)


def add(session: Session, terms: ActionTerms, *, username: str) -> CorporateAction:
    """Enter one action by hand: pending until a different user approves it (four-eyes)."""
    require(session, username, Permission.BOOKINGS_ENTER)
    if session.scalars(select(CorporateAction.id).where(CorporateAction.ref == terms.ref)).first():
        raise CorporateActionError(f"{terms.ref}: ref: already stored")
    row, bad = _row(session, terms)
    if row is None:
        raise CorporateActionError("; ".join(f"{terms.ref}: {f}: {why}" for f, why in bad))
    row.source, row.entered_by = "cli", username
    CORPORATE_ACTIONS.start(session, row, PENDING_APPROVAL, actor=username, event="enter")
    return row


def _decidable(session: Session, ref: str, username: str, verb: str) -> CorporateAction:
    require(session, username, Permission.BOOKINGS_APPROVE)
    a = session.scalars(select(CorporateAction).where(CorporateAction.ref == ref)).first()
    if a is None:
        raise NotFound(f"no corporate action {ref!r}")
    if a.status != PENDING_APPROVAL:
        raise CorporateActionError(f"{ref}: is {a.status}, not pending approval")
    if a.entered_by == username:
        record_separately(session, username, "corporate_action.self_refused", "corporate_action",
                          entity_id=a.id, reason=f"nobody can {verb} their own entry")  # fmt: skip
        raise SegregationOfDuties(f"{username} entered corporate action {ref} and cannot also {verb} it")
    return a


def approve(session: Session, ref: str, *, username: str, reason: str | None = None) -> CorporateAction:
    """The second user's approval: the action is announced and will be booked on its date."""
    a = _decidable(session, ref, username, "approve")
    CORPORATE_ACTIONS.fire(
        session, a, "approve", actor=username, reason=reason, also={"decided_by": username}
    )
    return a


def reject(session: Session, ref: str, reason: str, *, username: str) -> CorporateAction:
    """The second user's rejection, with a reason: it is never booked."""
    if not reason or not reason.strip():
        raise CorporateActionError(f"{ref}: a rejection needs a reason")
    a = _decidable(session, ref, username, "reject")
    CORPORATE_ACTIONS.fire(session, a, "reject", actor=username, reason=reason,
                           also={"decided_by": username, "decision_reason": reason})  # fmt: skip
    return a
