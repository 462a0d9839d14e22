"""Reversals (camt.053 RvslInd, or a reversal bank transaction code): find the line each cancels.

A reversal names its original by the custodian's reference (AcctSvcrRef) and/or the payment's
end-to-end id; the original is a cash line of the same custodian and account, booked before or
earlier in the same file. It must be for the same amount and currency, in the other direction,
and not reversed before: a line is reversed once (also a unique key of `activity_lines`). The
reversal then posts the opposite of every cash movement of the original's booking
(engine.activity.post), so a reversed deposit is an external flow back out, a reversed dividend
takes back its gross and returns its withholding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.activity.checks import CHUNK, Checked
from engine.activity.tables import ActivityFile, ActivityLine
from engine.errors import Problem
from engine.model.currency import round_money

CASH = frozenset({"dividend", "interest", "fee", "deposit", "withdrawal", "fx"})
CREDITS = frozenset({"deposit", "dividend", "interest"})
DEBITS = frozenset({"withdrawal", "fee"})


@dataclass(frozen=True, slots=True)
class Original:
    """The line a reversal cancels; `booking_id` None: booked from the same file, just before."""

    reference: str
    kind: str
    external: bool
    account_id: int
    currency: str | None
    amount: Decimal | None
    counter_currency: str | None
    counter_amount: Decimal | None
    booking_id: int | None


def _in_file(checked: list[Checked]) -> dict[str, list[Original]]:
    out: dict[str, list[Original]] = {}
    for c in checked:
        r = c.row
        if r.kind == "reversal":
            continue
        o = Original(r.reference, r.kind, r.external, c.account.id, c.currency,
                     c.net if c.net is not None else r.amount, r.counter_currency, r.counter_amount, None)  # fmt: skip
        for key in {r.reference, r.end_to_end} - {None}:
            assert key is not None
            out.setdefault(key, []).append(o)
    return out


def _stored(session: Session, custodian: str, keys: list[str]) -> dict[str, list[Original]]:
    out: dict[str, list[Original]] = {}
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        for ln in session.scalars(
            select(ActivityLine).where(
                ActivityLine.custodian == custodian,
                ActivityLine.kind != "reversal",
                or_(ActivityLine.reference.in_(chunk), ActivityLine.end_to_end.in_(chunk)),
            )
        ):
            o = Original(ln.reference, ln.kind, ln.external, ln.account_id, ln.currency, ln.amount,
                         ln.counter_currency, ln.counter_amount, ln.booking_id)  # fmt: skip
            for key in {ln.reference, ln.end_to_end or ln.reference} & set(chunk):
                out.setdefault(key, []).append(o)
    return out


def _reversed_before(session: Session, custodian: str, refs: list[str]) -> dict[str, tuple[str, str, int]]:
    """original reference -> (reversal reference, file, row) of reversals booked before."""
    out: dict[str, tuple[str, str, int]] = {}
    for i in range(0, len(refs), CHUNK):
        q = (
            select(ActivityLine.reverses, ActivityLine.reference, ActivityFile.file_name, ActivityLine.row)
            .join(ActivityFile, ActivityFile.id == ActivityLine.file_id)
            .where(ActivityLine.custodian == custodian, ActivityLine.reverses.in_(refs[i : i + CHUNK]))
        )
        for orig, ref, name, row in session.execute(q):
            out[str(orig)] = (ref, name, row)
    return out


def _mismatch(c: Checked, o: Original) -> str | None:
    """Why the reversal `c` cannot cancel `o` (None: it can)."""
    r = c.row
    if o.kind not in CASH:
        return f"{o.reference!r} is a {o.kind}: only cash lines are reversed from a statement"
    if o.account_id != c.account.id:
        return f"{o.reference!r} was booked in another account"
    legs = (
        {(o.currency, o.amount), (o.counter_currency, o.counter_amount)}
        if o.kind == "fx"
        else {(o.currency, o.amount)}
    )
    if not any(ccy == c.currency and amt is not None and Decimal(amt) == r.amount for ccy, amt in legs):
        amt = round_money(Decimal(o.amount), o.currency) if o.amount is not None and o.currency else o.amount
        return f"{r.amount} {c.currency} is not the amount of {o.reference!r} ({amt} {o.currency})"
    if r.credit is not None and ((o.kind in CREDITS and r.credit) or (o.kind in DEBITS and not r.credit)):
        return f"a reversal of a {o.kind} is a {'debit' if o.kind in CREDITS else 'credit'}"
    return None


def find_originals(
    session: Session, custodian: str, todo: list[Checked], problems: list[Problem]
) -> dict[str, Original]:
    """reversal reference -> the line it cancels, for every reversal to book; problems appended
    (in row order)."""
    mine: list[Problem] = []
    found = _find(session, custodian, todo, mine)
    problems.extend(sorted(mine, key=lambda p: p.row))  # stable: reversals of one line keep file order
    return found


def _find(
    session: Session, custodian: str, todo: list[Checked], problems: list[Problem]
) -> dict[str, Original]:
    reversals = [c for c in todo if c.row.kind == "reversal"]
    if not reversals:
        return {}
    in_file = _in_file(todo)
    stored = _stored(session, custodian, sorted({k for c in reversals for k in c.row.reverses}))
    resolved: list[tuple[Checked, Original | str]] = []
    for c in reversals:
        r = c.row
        names = ", ".join(repr(k) for k in r.reverses)
        hits = {o.reference: o for k in r.reverses for o in (*in_file.get(k, ()), *stored.get(k, ()))}
        if not hits:
            resolved.append(
                (c, f"no line of {custodian} has reference or end-to-end id {names}: nothing to reverse")
            )
        elif len(hits) > 1:
            resolved.append((c, f"{names} names more than one line ({', '.join(sorted(hits))})"))
        else:
            (o,) = hits.values()
            resolved.append((c, _mismatch(c, o) or o))
    refs = sorted({o.reference for _, o in resolved if isinstance(o, Original)})
    before = _reversed_before(session, custodian, refs)
    found: dict[str, Original] = {}
    claimed: dict[str, int] = {}
    for c, o in resolved:
        if isinstance(o, str):
            problems.append(Problem(c.row.row, "reverses", o))
        elif o.reference in before:
            ref, name, row = before[o.reference]
            problems.append(Problem(c.row.row, "reverses", f"{o.reference!r} was reversed already by {ref!r} "
                                    f"({name}, row {row})"))  # fmt: skip
        elif o.reference in claimed:
            problems.append(Problem(c.row.row, "reverses", f"{o.reference!r} is reversed twice in the file "
                                    f"(first on row {claimed[o.reference]})"))  # fmt: skip
        else:
            claimed[o.reference] = c.row.row
            found[c.row.reference] = o
    return found
