"""The port through which the OMS re-checks a loosened cancel/replace before it may route.

A replace that raises the quantity, removes the limit, or moves the limit against the order (a buy
limit up, a sell limit down) carries more risk than the terms compliance passed, so it is re-checked.
Tighter replaces route without a re-check. Without a re-checker every loosened replace is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from engine.ports import OrderIntent


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
