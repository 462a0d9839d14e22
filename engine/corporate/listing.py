"""Corporate actions as the CLI and the desktop list them (plain dicts, JSON-ready)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from engine.accounting.tables import CorporateAction
from engine.corporate.terms import booking_date, display_kind
from engine.state.corporate import PENDING_APPROVAL
from engine.store.reference import Security


def _s(v: object) -> Any:
    return None if v is None else format(Decimal(str(v)).normalize(), "f")


def list_actions(
    session: Session, *, pending: bool = False, security: str | None = None
) -> list[dict[str, Any]]:
    """Every action (or those awaiting approval), optionally of one security (symbol or ISIN;
    also where it is the new security), ordered by ex date."""
    old, new = aliased(Security), aliased(Security)
    q = (
        select(CorporateAction, old.symbol, new.symbol)
        .join(old, old.id == CorporateAction.security_id)
        .outerjoin(new, new.id == CorporateAction.new_security_id)
        .order_by(CorporateAction.ex_date, CorporateAction.id)
    )
    if pending:
        q = q.where(CorporateAction.status == PENDING_APPROVAL)
    if security:
        q = q.where(or_(old.symbol == security, old.isin == security, new.symbol == security,
                        new.isin == security))  # fmt: skip
    out = []
    for a, symbol, new_symbol in session.execute(q).all():
        out.append(
            {
                "ref": a.ref,
                "kind": display_kind(a.kind, a.ratio_new, a.ratio_old),
                "security": symbol,
                "status": a.status,
                "announce_date": a.announce_date,
                "ex_date": a.ex_date,
                "record_date": a.record_date,
                "pay_date": a.pay_date,
                "booking_date": booking_date(a.kind, a.ex_date, a.pay_date),
                "ratio_new": _s(a.ratio_new),
                "ratio_old": _s(a.ratio_old),
                "amount": _s(a.amount),
                "new_security": new_symbol,
                "allocation": _s(a.allocation),
                "new_price": _s(a.new_price),
                "lieu_price": _s(a.lieu_price),
                "new_symbol": a.new_symbol,
                "new_isin": a.new_isin,
                "source": a.source,
                "entered_by": a.entered_by,
                "decided_by": a.decided_by,
                "decision_reason": a.decision_reason,
                "booked_at": a.applied_at,
            }
        )
    return out
