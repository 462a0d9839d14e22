"""Which open lots a sale relieves, by the account's method. Pure functions on plain values.

Methods: FIFO (oldest first), LIFO (newest first), HIFO (highest cost per share in base first),
MIN_TAX (losses first, largest loss per share first; then long-term gains, then short-term gains,
smallest gain per share first), SPECIFIC (the caller names lots and quantities). Gains for
ordering are compared in the account's base currency: price x sale FX rate against unit cost
x the lot's acquisition FX rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.accounting.holding import LONG, term
from engine.model.enums import LotRelief
from engine.model.trades import LotPick


class ReliefError(ValueError):
    """The sale cannot be matched to lots (too few shares, unknown lot, wrong pick totals)."""


@dataclass(frozen=True, slots=True)
class OpenLot:
    """An open lot as relief sees it."""

    ref: str
    quantity: Decimal
    unit_cost: Decimal
    acquired: date
    fx_rate: Decimal


def _order(
    lots: Sequence[OpenLot],
    method: LotRelief,
    price: Decimal,
    sale_fx: Decimal,
    sold: date,
    long_after_months: int | None,
) -> list[OpenLot]:
    if method == LotRelief.FIFO:
        return sorted(lots, key=lambda lot: (lot.acquired, lot.ref))
    if method == LotRelief.LIFO:
        return sorted(lots, key=lambda lot: (lot.acquired, lot.ref), reverse=True)
    if method == LotRelief.HIFO:
        return sorted(lots, key=lambda lot: (-(lot.unit_cost * lot.fx_rate), lot.acquired, lot.ref))
    if method == LotRelief.MIN_TAX:

        def key(lot: OpenLot) -> tuple[int, Decimal, date, str]:
            gain = price * sale_fx - lot.unit_cost * lot.fx_rate
            if gain < 0:
                bucket = 0
            elif term(lot.acquired, sold, long_after_months) == LONG:
                bucket = 1
            else:
                bucket = 2
            return (bucket, gain, lot.acquired, lot.ref)

        return sorted(lots, key=key)
    raise ReliefError(f"no automatic order for lot relief {method!s}")


def choose_lots(
    lots: Sequence[OpenLot],
    quantity: Decimal,
    method: LotRelief,
    *,
    price: Decimal = Decimal(0),
    sale_fx: Decimal = Decimal(1),
    sold: date | None = None,
    long_after_months: int | None = None,
    picks: Sequence[LotPick] = (),
) -> list[tuple[OpenLot, Decimal]]:
    """(lot, quantity taken) pairs summing to `quantity`; raises ReliefError if impossible."""
    if quantity <= 0:
        raise ReliefError(f"quantity to sell must be positive, got {quantity}")
    held = sum((lot.quantity for lot in lots), Decimal(0))
    if quantity > held:
        raise ReliefError(f"selling {quantity} but only {held} held (short sales are not booked)")
    if picks:
        by_ref = {lot.ref: lot for lot in lots}
        taken: dict[str, Decimal] = {}
        out = []
        for pick in picks:
            lot = by_ref.get(pick.lot_ref)
            if lot is None:
                raise ReliefError(f"lot {pick.lot_ref!r} is not an open lot of this security")
            if pick.quantity <= 0:
                raise ReliefError(f"lot {pick.lot_ref!r}: quantity must be positive")
            taken[lot.ref] = taken.get(lot.ref, Decimal(0)) + pick.quantity
            if taken[lot.ref] > lot.quantity:
                raise ReliefError(f"lot {pick.lot_ref!r} holds {lot.quantity}, asked {taken[lot.ref]}")
            out.append((lot, pick.quantity))
        total = sum(taken.values(), Decimal(0))
        if total != quantity:
            raise ReliefError(f"lot picks total {total} but the sale is {quantity}")
        return out
    if method == LotRelief.SPECIFIC:
        raise ReliefError("the account uses specific-lot relief: name the lots to sell")
    order = _order(lots, method, price, sale_fx, sold or date.max, long_after_months)
    out, left = [], quantity
    for lot in order:
        if left <= 0:
            break
        take = min(lot.quantity, left)
        if take > 0:
            out.append((lot, take))
            left -= take
    return out
