"""At most one resend of an unknown order per round of status requests.

Two reconciles can overlap (a logon and the ResendRequest that follows it, or two gaps close
together): each asks the broker about the same order and each "unknown order" answer would send it
again. The second NewOrderSingle under the same ClOrdID would be rejected as a duplicate, and that
reject would wrongly end an order the broker holds. So an "unknown" answer resends only if the
order was not already sent again after the latest status request recorded for it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.tables import OrderEvent

ASKED = "status_request"
RESENT = "resend"


def resent_since_asked(session: Session, order_id: int) -> bool:
    """True if the order's latest status-request-or-resend event is a resend."""
    last = session.scalar(
        select(OrderEvent.kind)
        .where(OrderEvent.order_id == order_id, OrderEvent.kind.in_((ASKED, RESENT)))
        .order_by(OrderEvent.id.desc())
        .limit(1)
    )
    return last == RESENT
