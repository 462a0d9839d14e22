"""Book a custodian's activity file into the ledger exactly once: `book_activity_file`.

Exactly once, twice over: the identical file again (same SHA-256) books nothing and says "already
loaded"; a line whose natural key (custodian, reference) was booked from another file is skipped
when its content is the same, and refused when it differs. All or nothing: every problem of the
file (row, field, reason: unknown account or security, bad amount, gross/withholding/net mismatch,
a reference twice, a reference booked before with other content, a sale of shares not held) is
listed, and nothing of the file is written, even when the caller's transaction goes on.

Cash-only lines (income, fees, flows, FX) are booked in bulk (engine.activity.bulk); lines that
move lots (trades away, transfers in kind) then one by one in trade-date order (file order within
a date). Loading is an act of a signed-in
user with activity.load (PermissionDenied otherwise, audited); each booked file writes one audit
entry (`activity.load`) in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.accounting.errors import BookingError
from engine.activity.bulk import CASH_KINDS, post_cash_lines
from engine.activity.checks import (
    CHUNK,
    Checked,
    check_row,
    duplicate_references,
    load_accounts,
    security_index,
)
from engine.activity.post import Posted, Poster, post_trades
from engine.activity.reversals import find_originals
from engine.activity.rows import KINDS, TRADES, ParsedActivity
from engine.activity.tables import ActivityFile, ActivityLine
from engine.audit.chain import record
from engine.errors import ImportValidationError, Problem
from engine.pricing.fx import FxTable
from engine.store.bulk import table_of


@dataclass(frozen=True)
class ActivityLoadResult:
    """What loading a file did: lines booked per kind, identical lines skipped, or already loaded."""

    file_id: int
    source_name: str
    custodian: str
    format: str
    content_hash: str
    already_loaded: bool
    lines: int
    booked: int
    skipped: int
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The `activity load --json` shape of one file (docs/reconcile.md)."""
        return {
            "file": self.source_name, "file_id": self.file_id, "custodian": self.custodian,
            "format": self.format, "sha256": self.content_hash, "already_loaded": self.already_loaded,
            "lines": self.lines, "booked": self.booked, "skipped": self.skipped, "counts": dict(self.counts),
        }  # fmt: skip


def _prior_file(session: Session, content_hash: str) -> ActivityLoadResult | None:
    f = session.scalars(select(ActivityFile).where(ActivityFile.content_hash == content_hash)).first()
    if f is None:
        return None
    return ActivityLoadResult(
        f.id,
        f.file_name,
        f.custodian,
        f.format,
        f.content_hash,
        True,
        f.lines,
        f.booked,
        f.skipped,
        dict(f.counts),
    )


def _booked_before(session: Session, custodian: str, refs: list[str]) -> dict[str, tuple[str, str, int]]:
    """reference -> (fingerprint, file name, row) of lines of this custodian already booked."""
    out: dict[str, tuple[str, str, int]] = {}
    for i in range(0, len(refs), CHUNK):
        q = (
            select(ActivityLine.reference, ActivityLine.fingerprint, ActivityFile.file_name, ActivityLine.row)
            .join(ActivityFile, ActivityFile.id == ActivityLine.file_id)
            .where(ActivityLine.custodian == custodian, ActivityLine.reference.in_(refs[i : i + CHUNK]))
        )
        for ref, fp, name, row in session.execute(q):
            out[ref] = (fp, name, row)
    return out


def _check(
    session: Session, parsed: ParsedActivity, custodian: str, problems: list[Problem]
) -> tuple[list[Checked], int]:
    """The lines to book (trade-date order) and how many identical lines were booked before."""
    if parsed.custodian and parsed.custodian != custodian:
        problems.append(Problem(1, "custodian", f"the file was read for {parsed.custodian}, not {custodian}"))
    rows = parsed.rows
    accounts = load_accounts(session, {r.account for r in rows})
    securities = security_index(session) if any(r.security_ref for r in rows) else {}
    duplicate_references(rows, problems)
    checked = [check_row(r, custodian, accounts, securities, problems) for r in rows]
    before = _booked_before(session, custodian, sorted({r.reference for r in rows}))
    todo: list[Checked] = []
    skipped = 0
    for c in checked:
        if c is None:
            continue
        prior = before.get(c.row.reference)
        if prior is None:
            todo.append(c)
        elif prior[0] == c.fingerprint:
            skipped += 1
        else:
            problems.append(
                Problem(
                    c.row.row, "reference",
                    f"{c.row.reference!r} was booked from {prior[1]} (row {prior[2]}) with different content",
                )
            )  # fmt: skip
    todo.sort(key=lambda c: (c.row.trade_date, c.row.row))
    return todo, skipped


def _fx_for(session: Session, todo: list[Checked]) -> FxTable | None:
    """One FX table over the trade dates of the file's trades in a foreign currency (None if none)."""
    days = [
        c.row.trade_date
        for c in todo
        if c.row.kind in TRADES and c.security is not None and c.security.currency != c.account.base_currency
    ]
    return FxTable.load(session, start=min(days), end=max(days)) if days else None


def book_activity_file(
    session: Session,
    parsed: ParsedActivity,
    *,
    custodian: str,
    username: str,
    source_name: str,
    content_hash: str,
) -> ActivityLoadResult:
    """Book every line of one file in the caller's transaction, or nothing; see the module docstring.

    Raises ImportValidationError (every problem, nothing written) or PermissionDenied."""
    require(session, username, Permission.ACTIVITY_LOAD)
    done = _prior_file(session, content_hash)
    if done is not None:
        return done
    problems: list[Problem] = []
    todo, skipped = _check(session, parsed, custodian, problems)
    originals = find_originals(session, custodian, todo, problems)
    if problems:
        raise ImportValidationError(source_name, problems)
    counts: Counter[str] = Counter()
    with session.begin_nested():
        f = ActivityFile(
            custodian=custodian, file_name=source_name[:260], content_hash=content_hash, format=parsed.format,
            lines=len(parsed.rows), booked=len(todo), skipped=skipped, counts={}, loaded_by=username,
        )  # fmt: skip
        session.add(f)
        session.flush()
        cash = [c for c in todo if c.row.kind in CASH_KINDS]
        rest = [c for c in todo if c.row.kind not in CASH_KINDS]
        booked_cash, errors = post_cash_lines(session, cash, custodian)
        problems.extend(Problem(getattr(e, "row", 1), e.field, e.reason) for e in errors)
        posted_by: list[tuple[Checked, Posted]] = list(zip(cash, booked_cash, strict=False))
        poster = Poster(session, custodian, _fx_for(session, rest))
        poster.originals = originals
        poster.booked = {c.row.reference: p.booking_id for c, p in posted_by}
        i = 0
        while i < len(rest):
            if rest[i].row.kind in TRADES:  # a run of trades away: booked set-wise (the same rows)
                j = next((k for k in range(i, len(rest)) if rest[k].row.kind not in TRADES), len(rest))
                posted_by += post_trades(poster, rest[i:j], problems)
                i = j
                continue
            try:
                posted_by.append((rest[i], poster.post(rest[i])))
            except BookingError as exc:
                problems.append(Problem(rest[i].row.row, exc.field, exc.reason))
            i += 1
        lines: list[dict[str, Any]] = []
        for c, posted in posted_by:
            r = c.row
            counts[r.kind] += 1
            lines.append(
                dict(
                    file_id=f.id, row=r.row, custodian=custodian, reference=r.reference, fingerprint=c.fingerprint,
                    account_id=c.account.id, kind=r.kind, trade_date=r.trade_date,
                    external=originals[r.reference].external if r.kind == "reversal" else r.external,
                    end_to_end=r.end_to_end, reverses=originals[r.reference].reference if r.kind == "reversal" else None,
                    settle_date=r.settle_date, security_id=c.security.id if c.security else None,
                    currency=c.currency, quantity=r.quantity, price=r.price, commission=r.commission,
                    amount=c.net if c.net is not None else r.amount, gross=c.gross, withholding=c.withholding,
                    counter_currency=r.counter_currency, counter_amount=r.counter_amount,
                    booking_id=posted.booking_id, detail=posted.detail,
                )
            )  # fmt: skip
        if problems:
            raise ImportValidationError(source_name, problems)
        if lines:
            session.execute(insert(table_of(ActivityLine)), lines)
        f.counts = {k: counts[k] for k in KINDS if counts[k]}
        record(session, username, "activity.load", "activity_file", f.id, None,
               {"file": source_name, "sha256": content_hash, "custodian": custodian, "format": parsed.format,
                "lines": len(parsed.rows), "booked": len(todo), "skipped": skipped, "counts": f.counts})  # fmt: skip
        session.flush()
    return ActivityLoadResult(
        f.id,
        source_name,
        custodian,
        parsed.format,
        content_hash,
        False,
        len(parsed.rows),
        len(todo),
        skipped,
        dict(f.counts),
    )
