"""The exception queue: proposals over a limit wait for a PM's sign-off before they can be accepted.

Limits are data (`resources/rebalance/exception_limits.csv`: code, currency, min_value,
max_turnover): a proposal crosses one when its account's value in its base currency is above
`min_value` and its turnover above `max_turnover`. `currency` is a base currency or `*` (any);
a code's row for the account's own currency replaces its `*` row. The queue is filled when
proposals are stored (`queue`, called by the bulk run's persist and by transition steps) and, for
proposals stored before a limit existed, by `scan`. `gate` is called by the PM's review before an
accept: any limit crossed without a signed-off exception refuses the accept (fail closed; the
limits are evaluated again from the proposal, not only read from the queue). A sign-off needs
`rebalance.exceptions.sign_off` and a PM other than the proposal's creator (four eyes); each
decision is audited by the state machine (engine.state.transitions.EXCEPTIONS).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import ImportValidationError, NotFound, Problem, WorkstationError
from engine.rebalance.tables import Proposal
from engine.rebalance.transition_tables import ProposalException
from engine.state.transitions import DENIED, EXCEPTIONS, OPEN, SIGNED_OFF

LIMITS_FILE = Path(__file__).resolve().parents[2] / "resources" / "rebalance" / "exception_limits.csv"
COLUMNS = ("code", "currency", "min_value", "max_turnover")


class ExceptionPending(WorkstationError):
    """A proposal over a limit has no PM sign-off yet (or was denied): it cannot be accepted."""


@dataclass(frozen=True)
class Limit:
    """One limit: accounts above `min_value` (base currency) may not turn over more than `max_turnover`."""

    code: str
    currency: str  # a base currency, or "*"
    min_value: float
    max_turnover: float


def load_limits(path: str | Path | None = None) -> tuple[Limit, ...]:
    """The limits file (default LIMITS_FILE), validated: a bad row is an ImportValidationError
    naming row, column and reason, and nothing is checked against a half-read file."""
    return _load(str(path or LIMITS_FILE))


@lru_cache(maxsize=8)
def _load(name: str) -> tuple[Limit, ...]:
    file = Path(name)
    problems: list[Problem] = []
    out: list[Limit] = []
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ImportValidationError(str(file), [Problem(1, "header", f"expected {','.join(COLUMNS)}")])
        for n, row in enumerate(reader, start=2):
            try:
                lim = Limit(row["code"].strip(), row["currency"].strip().upper(),
                            float(row["min_value"]), float(row["max_turnover"]))  # fmt: skip
            except (TypeError, ValueError, AttributeError) as exc:
                problems.append(Problem(n, "min_value/max_turnover", f"not a number ({exc})"))
                continue
            if not lim.code:
                problems.append(Problem(n, "code", "empty"))
            if lim.currency != "*" and len(lim.currency) != 3:
                problems.append(Problem(n, "currency", f"{lim.currency!r} is not a currency code or *"))
            if lim.min_value < 0 or not 0 <= lim.max_turnover <= 2:
                problems.append(Problem(n, "max_turnover", "min_value must be >= 0, max_turnover in [0, 2]"))
            out.append(lim)
    if problems:
        raise ImportValidationError(str(file), problems)
    return tuple(out)


def limits_for(base: str, limits: tuple[Limit, ...]) -> list[Limit]:
    """The limits that apply to an account in `base`: per code its own currency's row, else `*`."""
    by_code: dict[str, Limit] = {lim.code: lim for lim in limits if lim.currency == "*"}
    by_code.update({lim.code: lim for lim in limits if lim.currency == base})
    return list(by_code.values())


def breaches(
    payload: dict[str, Any], limits: tuple[Limit, ...] | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(code, words, figures) for each limit a proposal record crosses."""
    if payload.get("status") != "ok" or not payload.get("trades"):
        return []
    base = str(payload.get("base_currency", ""))
    value = float(payload.get("value_base") or 0.0)
    turnover = float(payload.get("turnover") or 0.0)
    out = []
    for lim in limits_for(base, load_limits() if limits is None else limits):
        if value > lim.min_value and turnover > lim.max_turnover + 1e-12:
            words = (
                f"turnover {turnover:.2%} above {lim.max_turnover:.0%} on an account of "
                f"{value:,.0f} {base} (above {lim.min_value:,.0f})"
            )
            figures = {"turnover": turnover, "value_base": value, "base_currency": base,
                       "max_turnover": lim.max_turnover, "min_value": lim.min_value}  # fmt: skip
            out.append((lim.code, words, figures))
    return out


def queue(session: Session, proposals: list[Proposal], actor: str) -> list[ProposalException]:
    """Open an exception for each limit each proposal crosses and has none for yet (audited)."""
    have = {
        (pid, code)
        for pid, code in session.execute(
            select(ProposalException.proposal_id, ProposalException.code).where(
                ProposalException.proposal_id.in_([p.id for p in proposals])
            )
        )
    }
    new = [
        ProposalException(proposal_id=p.id, account_id=p.account_id, code=code, detail=words, figures=figs)
        for p in proposals
        for code, words, figs in breaches(p.payload or {})
        if (p.id, code) not in have
    ]
    if new:
        EXCEPTIONS.start_many(session, [(e, OPEN) for e in new], actor=actor, event="open")
    return new


def queue_batch(session: Session, batch_id: str, actor: str) -> int:
    """`queue` for a stored run's proposals waiting for review; returns how many were opened."""
    props = list(
        session.scalars(select(Proposal).where(Proposal.batch_id == batch_id, Proposal.status == "ok"))
    )
    return len(queue(session, props, actor))


def scan(session: Session, actor: str) -> int:
    """Queue every proposal waiting for review that crosses a limit and is not queued yet."""
    props = list(session.scalars(select(Proposal).where(Proposal.status == "ok").order_by(Proposal.id)))
    return len(queue(session, props, actor)) if props else 0


def gate(session: Session, proposal: Proposal) -> None:
    """Refuse (ExceptionPending) to accept a proposal that crosses a limit without a sign-off."""
    crossed = breaches(proposal.payload or {})
    if not crossed:
        return
    rows = {
        e.code: e
        for e in session.scalars(
            select(ProposalException).where(ProposalException.proposal_id == proposal.id)
        )
    }
    for code, words, _ in crossed:
        e = rows.get(code)
        if e is None or e.status != SIGNED_OFF:
            state = "not queued yet" if e is None else e.status.replace("_", " ")
            raise ExceptionPending(
                f"proposal {proposal.id}: {words}: needs a PM's sign-off in the exception queue ({state}; "
                f"`workstation rebalance exceptions`)"
            )


def decide(session: Session, username: str, exception_id: int, decision: str, reason: str) -> str:
    """Sign off or deny one exception as `username`; returns its new status."""
    require(session, username, Permission.REBALANCE_SIGN_OFF)
    if decision not in ("sign_off", "deny"):
        raise WorkstationError(
            f"exception {exception_id}: decision must be sign_off or deny, not {decision!r}"
        )
    e = session.get(ProposalException, exception_id)
    if e is None:
        raise NotFound(f"exception {exception_id} does not exist")
    EXCEPTIONS.next(e.status, decision, e)
    if not reason.strip():
        raise WorkstationError(f"exception {exception_id}: a sign-off or denial needs a reason")
    p = session.get(Proposal, e.proposal_id)
    if p is not None and p.created_by == username:
        raise WorkstationError(
            f"exception {exception_id}: {username} created proposal {p.id}; another PM signs it off (four eyes)"
        )
    return EXCEPTIONS.fire(session, e, decision, actor=username, reason=reason, also={"decided_by": username})


def list_exceptions(session: Session, status: str | None = OPEN) -> list[dict[str, Any]]:
    """The queue (open exceptions by default; `None`: all), oldest first."""
    from engine.store.accounts import Account

    q = (
        select(ProposalException, Account.code, Proposal.status, Proposal.created_by)
        .join(Account, Account.id == ProposalException.account_id)
        .join(Proposal, Proposal.id == ProposalException.proposal_id)
        .order_by(ProposalException.id)
    )
    if status is not None:
        q = q.where(ProposalException.status == status)
    return [
        {
            "id": e.id, "proposal": e.proposal_id, "account": code, "code": e.code, "detail": e.detail,
            "figures": e.figures, "status": e.status, "decided_by": e.decided_by, "reason": e.reason,
            "proposal_status": pstatus, "created_by": creator,
        }
        for e, code, pstatus, creator in session.execute(q)
    ]  # fmt: skip


__all__ = ["DENIED", "OPEN", "SIGNED_OFF", "ExceptionPending", "Limit", "breaches", "decide", "gate",
           "list_exceptions", "load_limits", "queue", "queue_batch", "scan"]  # fmt: skip
