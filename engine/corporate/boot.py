"""Gain recognised on a reorganisation paid partly in cash (boot), per lot: IRC 356(a) and (c).

A shareholder who receives the acquirer's shares and cash for a lot recognises the lot's realised
gain (the value of everything received less the lot's basis) only up to the cash received; a
realised loss is not recognised. The new shares take the old basis less the cash, plus the gain
recognised (IRC 358(a)(1)). Cash paid in lieu of a fraction of a new share is not boot: the
fraction is treated as received and sold at once (Rev. Rul. 66-365), on its share of that basis.

All figures are in the old security's currency; the caller rounds money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Boot:
    """One lot's exchange: the cash, the gain realised, the part recognised, the basis carried on."""

    cash: Decimal
    realised: Decimal
    recognised: Decimal
    carried: Decimal


def boot(basis: Decimal, cash: Decimal, stock_value: Decimal) -> Boot:
    """The exchange of a lot of `basis` for `cash` and new shares worth `stock_value`."""
    realised = cash + stock_value - basis
    recognised = min(max(realised, ZERO), cash)
    return Boot(cash=cash, realised=realised, recognised=recognised, carried=basis - cash + recognised)
