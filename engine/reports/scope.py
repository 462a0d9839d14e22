"""Which accounts a report covers: named accounts, a household, or the whole book."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, WorkstationError
from engine.pricing.prices import latest_price_date
from engine.store.accounts import Account, Household
from engine.store.meta import BookMeta


def account_ids(
    session: Session, accounts: Sequence[str] = (), household: str | None = None, everything: bool = False
) -> list[int]:
    """Account ids for --account (repeatable), --household or --all; exactly one must be given."""
    chosen = sum([bool(accounts), household is not None, everything])
    if chosen != 1:
        raise WorkstationError("choose exactly one of --account, --household or --all")
    if everything:
        return list(session.scalars(select(Account.id).order_by(Account.code)))
    if household is not None:
        hh = session.scalars(select(Household).where(Household.code == household)).first()
        if hh is None:
            raise NotFound(f"no household {household!r}")
        return list(
            session.scalars(select(Account.id).where(Account.household_id == hh.id).order_by(Account.code))
        )
    found = dict(session.execute(select(Account.code, Account.id).where(Account.code.in_(accounts))).all())
    missing = [a for a in accounts if a not in found]
    if missing:
        raise NotFound(f"no account {missing[0]!r}")
    return [found[a] for a in accounts]


def book_as_of(session: Session) -> date:
    """The book's as-of date (demo meta), else the last price date; an error for an empty book."""
    meta = session.get(BookMeta, "as_of")
    if meta is not None:
        return date.fromisoformat(meta.value)
    last = latest_price_date(session)
    if last is None:
        raise NotFound("the book has no prices yet: nothing can be valued")
    return last
