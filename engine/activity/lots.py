"""The lots a custodian's sale or transfer out names, for an account on specific-lot relief.

A line names its lots in `ActivityRow.lots`: (identifier, quantity or None) pairs. An identifier
is, in this order: our lot reference (`B12`, `T40`, `B12-W7`); an acquisition date (ISO, every
open lot acquired that day, oldest first); or the custodian's own lot id, which is the reference
of its activity line that opened the lot (a buy or a transfer in booked from its files). A pair
without a quantity takes what is left of the line's quantity from the lots it names. The picks
must cover the line's quantity exactly; anything else is one clear reason (field `lots`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking
from engine.model.trades import LotPick
from engine.store.positions import TaxLot

ZERO = Decimal(0)


class LotNamingError(ValueError):
    """The lots named do not resolve or do not cover the line (the message is the reason)."""


def _as_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _opened_by(session: Session, key_prefix: str, reference: str, account_id: int) -> str | None:
    """Our lot reference of the lot the custodian's line `reference` opened in the account."""
    return session.scalars(
        select(Booking.lot_ref).where(
            Booking.source_ref == f"{key_prefix}{reference}", Booking.account_id == account_id
        )
    ).first()


def _named(
    session: Session, key_prefix: str, account_id: int, lots: Sequence[TaxLot], token: str
) -> list[TaxLot]:
    by_ref = {lot.lot_ref: lot for lot in lots}
    if token in by_ref:
        return [by_ref[token]]
    day = _as_date(token)
    if day is not None:
        return sorted((x for x in lots if x.acquired == day), key=lambda x: x.id)
    root = _opened_by(session, key_prefix, token, account_id)
    if root is None:
        return []
    return sorted(
        (x for x in lots if x.lot_ref == root or x.lot_ref.startswith(f"{root}-")), key=lambda x: x.id
    )


def picks_for(
    session: Session,
    key_prefix: str,
    account_id: int,
    symbol: str,
    lots: Sequence[TaxLot],
    named: Sequence[tuple[str, Decimal | None]],
    quantity: Decimal,
) -> tuple[LotPick, ...]:
    """The LotPicks for `quantity` from the open `lots` of one security, as `named` says;
    `key_prefix` is the custodian's booking key before its line reference (`ACT:<custodian>:`)."""
    left = quantity
    taken: dict[str, Decimal] = {}
    out: list[LotPick] = []
    for token, qty in named:
        found = _named(session, key_prefix, account_id, lots, token)
        if not found:
            raise LotNamingError(
                f"{token!r} is no open lot of {symbol} here (a lot reference, the custodian's lot id "
                "or an acquisition date)"
            )
        want = left if qty is None else qty
        if want <= 0:
            raise LotNamingError(f"{token!r}: nothing left of the {quantity} to take from it")
        got = ZERO
        for lot in found:
            free = Decimal(lot.quantity) - taken.get(lot.lot_ref, ZERO)
            take = min(free, want - got)
            if take > 0:
                out.append(LotPick(lot.lot_ref, take))
                taken[lot.lot_ref] = taken.get(lot.lot_ref, ZERO) + take
                got += take
        if qty is not None and got < qty:
            raise LotNamingError(f"{token!r} holds {got} of {symbol} not yet taken, the line asks {qty}")
        left -= got
    if left != 0:
        total = quantity - left
        raise LotNamingError(f"the lots named give {total} of {symbol}, the line's quantity is {quantity}")
    return tuple(out)
