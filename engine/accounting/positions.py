"""Trade-date and settle-date positions of an account.

Trade-date quantity is what the lots hold (trades count from their trade date). Settle-date
quantity leaves out trades not yet settled on `as_of`: buys settling later are taken off,
sells settling later are added back. Quantities are the ledger as it stands (every trade booked
so far); `as_of` decides which of those trades have settled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking
from engine.store.positions import TaxLot
from engine.store.reference import Security


@dataclass(frozen=True, slots=True)
class Position:
    """One security of one account on both bases."""

    symbol: str
    trade_date_quantity: Decimal
    settle_date_quantity: Decimal

    @property
    def unsettled(self) -> Decimal:
        return self.trade_date_quantity - self.settle_date_quantity


def positions(session: Session, account_id: int, as_of: date) -> list[Position]:
    """Every security the account holds or has pending, by symbol."""
    held: dict[int, Decimal] = {
        sid: Decimal(q)
        for sid, q in session.execute(
            select(TaxLot.security_id, func.sum(TaxLot.quantity))
            .where(TaxLot.account_id == account_id)
            .group_by(TaxLot.security_id)
        ).all()
    }
    pending: dict[int, Decimal] = {}
    for sid, side, qty in session.execute(
        select(Booking.security_id, Booking.side, Booking.quantity).where(
            Booking.account_id == account_id,
            Booking.kind == "trade",
            Booking.trade_date <= as_of,
            Booking.settle_date > as_of,
        )
    ).all():
        sign = Decimal(1) if side == "buy" else Decimal(-1)
        if sid is None or qty is None:
            continue  # cash bookings carry no security
        pending[sid] = pending.get(sid, Decimal(0)) + sign * Decimal(qty)
    ids = sorted(set(held) | set(pending))
    symbols = dict(session.execute(select(Security.id, Security.symbol).where(Security.id.in_(ids))).all())
    out = [
        Position(
            symbols[sid], held.get(sid, Decimal(0)), held.get(sid, Decimal(0)) - pending.get(sid, Decimal(0))
        )
        for sid in ids
    ]
    return sorted(out, key=lambda p: p.symbol)
