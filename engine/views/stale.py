"""Stale prices and FX of the book, for `workstation report stale` and the desktop's operations view.

Lists each stale price of a security the book holds or a model holds, and each stale FX rate of a
currency an account needs (it holds more than its base currency), with its last and expected
date and how many accounts depend on it: those the rebalance suspends (engine.rebalance.prepare).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.pricing.staleness import (
    Policy,
    StaleItem,
    fx_last_dates,
    load_policy,
    price_frame,
    stale_fx,
    stale_prices,
)
from engine.rebalance.book import book_as_of
from engine.store.accounts import Account, ModelComponent
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security


@dataclass(frozen=True)
class StaleRow:
    """One stale price or rate and the number of accounts that depend on it."""

    item: StaleItem
    accounts: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.item.as_dict(), "accounts": self.accounts}


@dataclass(frozen=True)
class StaleReport:
    """What is stale at `at`, under `policy`."""

    at: date | datetime
    policy: Policy
    prices: list[StaleRow]
    fx: list[StaleRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.at.isoformat(),
            "policy": {
                k: {"rule": r.rule, "allowed": r.allowed} for k, r in sorted(self.policy.rules.items())
            },
            "prices": [r.as_dict() for r in self.prices],
            "fx": [r.as_dict() for r in self.fx],
        }


def stale_report(session: Session, at: date | datetime | None = None) -> StaleReport:
    """Stale prices and FX rates the book depends on, read at `at` (default: the book's date)."""
    when: date | datetime = at if at is not None else book_as_of(session)
    day = when.date() if isinstance(when, datetime) else when
    policy = load_policy(session)
    held = session.execute(
        select(TaxLot.account_id, TaxLot.security_id).where(TaxLot.quantity != 0).distinct()
    ).all()
    components = session.scalars(select(ModelComponent.security_id))
    in_models = {int(sid) for sid in components if sid is not None}
    holders = Counter(sid for _, sid in held)
    wanted = set(holders) | in_models
    prices = stale_prices(price_frame(session, day, wanted), policy, when) if wanted else {}
    # Currencies each account needs: its base, its cash and its securities' currencies.
    ccy_of = dict(session.execute(select(Security.id, Security.currency)).all())
    need: dict[int, set[str]] = {
        a: {b} for a, b in session.execute(select(Account.id, Account.base_currency))
    }
    for aid, sid in held:
        need.setdefault(aid, set()).add(ccy_of[sid])
    for aid, ccy, settled, unsettled in session.execute(
        select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
    ):
        if settled or unsettled:
            need.setdefault(aid, set()).add(ccy)
    users = Counter(c for ccys in need.values() if len(ccys) > 1 for c in ccys)
    rates = stale_fx(fx_last_dates(session, day, users), policy, when) if users else {}
    return StaleReport(
        at=when,
        policy=policy,
        prices=sorted(
            (StaleRow(i, holders.get(sid, 0)) for sid, i in prices.items()),
            key=lambda r: (r.item.last or date.min, r.item.name),
        ),
        fx=[StaleRow(i, users[c]) for c, i in sorted(rates.items())],
    )
