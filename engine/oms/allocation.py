"""Pro rata allocation of a block's fills to its child orders, in round lots.

The rule (documented in docs/oms.md, property-tested):

1. Each child's fair share is `filled * its quantity / block quantity`.
2. Each child first gets its share rounded DOWN to whole lots (never more than it asked for).
3. The remainder is handed out one lot at a time, to the children with the largest fractional
   part of their share first (largest-remainder, Hamilton's method). Ties are broken by a hash of
   (block ClOrdID, child ClOrdID): reproducible for a block, but a different order for every
   block, so no account is favoured systematically. A child never gets more than it asked for;
   passes repeat until the remainder is smaller than a lot.
4. An odd piece smaller than a lot (a broker can fill an odd lot) goes whole to the child then
   furthest below its fair share that has room for it (same tie-break).

The allocations always sum exactly to the filled quantity (when it does not exceed the block).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True, slots=True)
class Want:
    """One child: its key (ClOrdID) and the quantity it asked for."""

    key: str
    quantity: Decimal


def _tie(block_key: str, key: str) -> str:
    return hashlib.sha256(f"{block_key}\x1f{key}".encode()).hexdigest()


def pro_rata(filled: Decimal, wants: Sequence[Want], lot: Decimal, block_key: str) -> dict[str, Decimal]:
    """Split `filled` over `wants` by the rule above; returns quantity per key."""
    if lot <= 0:
        raise ValueError("lot size must be positive")
    total = sum((w.quantity for w in wants), Decimal(0))
    if filled < 0:
        raise ValueError("filled quantity is negative")
    if total <= 0 or filled == 0:
        return {w.key: Decimal(0) for w in wants}
    if filled >= total:
        return {w.key: w.quantity for w in wants}
    share = {w.key: filled * w.quantity / total for w in wants}
    alloc = {
        w.key: min(w.quantity, (share[w.key] / lot).to_integral_value(rounding=ROUND_FLOOR) * lot)
        for w in wants
    }
    want = {w.key: w.quantity for w in wants}
    order = sorted(wants, key=lambda w: (-(share[w.key] - alloc[w.key]), _tie(block_key, w.key)))
    left = filled - sum(alloc.values(), Decimal(0))
    while left >= lot:
        gave = False
        for w in order:
            if left < lot:
                break
            if alloc[w.key] + lot <= want[w.key]:
                alloc[w.key] += lot
                left -= lot
                gave = True
        if not gave:
            break
    # An odd piece (or what no whole lot could place) goes to the child furthest below its share.
    order = sorted(wants, key=lambda w: (-(share[w.key] - alloc[w.key]), _tie(block_key, w.key)))
    for w in order:
        if left <= 0:
            break
        room = want[w.key] - alloc[w.key]
        if room >= left:
            alloc[w.key] += left
            left = Decimal(0)
    for w in order:  # last resort: spread what is left over whatever room remains
        if left <= 0:
            break
        take = min(left, want[w.key] - alloc[w.key])
        alloc[w.key] += take
        left -= take
    return alloc


def pick_lots(
    instructions: Sequence[dict[str, object]] | None, quantity: Decimal
) -> list[tuple[str, Decimal]]:
    """Specific-lot instructions trimmed to the allocated quantity, in the order given."""
    picks: list[tuple[str, Decimal]] = []
    left = quantity
    for item in instructions or ():
        if left <= 0:
            break
        qty = min(Decimal(str(item["quantity"])), left)
        if qty > 0:
            picks.append((str(item["lot_ref"]), qty))
            left -= qty
    return picks
