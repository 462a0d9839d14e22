"""The port through which the OMS re-checks a loosened cancel/replace before it may route.

A replace that raises the quantity, removes the limit, or moves the limit against the order (a buy
limit up, a sell limit down) carries more risk than the terms compliance passed, so it is re-checked.
Tighter replaces route without a re-check. Without a re-checker every loosened replace is held.

A held replace stays on record (its `replace_held` order event) until the trader releases it
(`OrderManager.release_now`, Ctrl+L): `held_replace` finds its terms, and the OMS asks for that
replace again, through the same re-check, so it goes out only once compliance has approved it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.tables import OrderEvent
from engine.ports import OrderIntent

HELD = "replace_held"
SUPERSEDED_BY = ("replace_request", "replaced", "cancel_request")
"""Order events after which a held replace is no longer waiting: another replace, or a cancel."""


@dataclass(frozen=True)
class RecheckVerdict:
    """Whether the new terms may route, and if not, the sentence saying why."""

    ok: bool
    reason: str = ""


class ReplaceRechecker(Protocol):
    """Compliance's re-check of an order whose terms were loosened (engine.compliance.replace_check)."""

    def __call__(
        self, session: Session, order_id: int, before: OrderIntent, after: OrderIntent, username: str
    ) -> RecheckVerdict: ...


def _n(x: Decimal) -> str:
    return format(Decimal(x).normalize(), "f")


def loosened(before: OrderIntent, after: OrderIntent) -> str | None:
    """Why `after` carries more risk than `before` (None when the same or tighter)."""
    if Decimal(after.quantity) > Decimal(before.quantity):
        return f"quantity up from {_n(before.quantity)} to {_n(after.quantity)}"
    old, new = before.limit_price, after.limit_price
    if old is not None and new is None:
        return f"limit {_n(old)} removed"
    if old is not None and new is not None:
        side = str(after.side).lower()
        if side == "buy" and Decimal(new) > Decimal(old):
            return f"buy limit raised from {_n(old)} to {_n(new)}"
        if side == "sell" and Decimal(new) < Decimal(old):
            return f"sell limit lowered from {_n(old)} to {_n(new)}"
    return None


@dataclass(frozen=True)
class HeldReplace:
    """The terms of a replace compliance held, as the trader asked for them."""

    quantity: Decimal
    limit_price: Decimal | None
    reason: str


def held_replace(session: Session, order_id: int) -> HeldReplace | None:
    """The order's held replace if it is still waiting (its latest replace or cancel request)."""
    last = session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id, OrderEvent.kind.in_((HELD, *SUPERSEDED_BY)))
        .order_by(OrderEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or last.kind != HELD or not last.detail:
        return None
    px = last.detail.get("limit_price")
    return HeldReplace(
        Decimal(last.detail["quantity"]), None if px is None else Decimal(px), last.detail.get("reason", "")
    )
