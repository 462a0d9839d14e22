"""Bulk runs by their batch id, or by a short prefix of it as the desktop and the CLI show it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.rebalance.tables import Proposal

MIN_PREFIX = 6
"""The shortest prefix accepted (the desktop shows 8 characters)."""


def resolve_batch(session: Session, text: str) -> str:
    """The full batch id that `text` names: the id itself or a unique prefix of at least
    MIN_PREFIX characters; anything else is one clear error naming what matched."""
    key = text.strip().lower()
    if session.scalar(select(Proposal.batch_id).where(Proposal.batch_id == key).limit(1)) is not None:
        return key
    if len(key) < MIN_PREFIX:
        raise WorkstationError(f"batch {text!r}: give at least {MIN_PREFIX} characters of the batch id")
    found = list(
        session.scalars(
            select(Proposal.batch_id).where(Proposal.batch_id.like(f"{key}%")).distinct().limit(3)
        )
    )
    if not found:
        raise WorkstationError(f"batch {text!r}: no bulk run has this id")
    if len(found) > 1:
        raise WorkstationError(f"batch {text!r} is ambiguous: {', '.join(sorted(found))}…")
    return str(found[0])
