"""How many shares each account's order is for: a quantity, a % of the account's value, or a
notional in any currency, converted at the book's FX and rounded DOWN to whole board lots (never
more than the trader asked for; an account too small for one lot gets 0 and is left out). A
quantity is taken as typed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from engine.errors import WorkstationError

SIZE_KINDS = ("quantity", "percent", "notional")


@dataclass(frozen=True)
class Size:
    """What the trader typed: `kind` quantity (shares), percent (of each account's value, in its
    base currency) or notional (`amount` in `currency`, the same for every account)."""

    kind: str
    amount: Decimal
    currency: str | None = None

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with it, as (field, reason)."""
        if self.kind not in SIZE_KINDS:
            return [("size", f"size must be one of {', '.join(SIZE_KINDS)}")]
        if not self.amount.is_finite() or self.amount <= 0:
            return [("size", "must be positive")]
        if self.kind == "percent" and self.amount > 100:
            return [("size", "a percentage of the account is at most 100")]
        if self.kind == "notional" and not self.currency:
            return [("currency", "a notional needs its currency")]
        return []


def board_lots(shares: Decimal, lot_size: int) -> Decimal:
    """`shares` rounded down to a whole number of board lots."""
    lot = Decimal(max(lot_size, 1))
    return (shares / lot).to_integral_value(rounding=ROUND_FLOOR) * lot


def shares_for(
    size: Size,
    *,
    price: Decimal,
    multiplier: Decimal,
    lot_size: int,
    account_value: Decimal | None = None,
    fx_to_security: Decimal = Decimal(1),
) -> Decimal:
    """Shares for one account. `price` in the security's currency per share (times `multiplier`);
    `fx_to_security` is units of the security's currency per one unit of the money being spent (the
    account's base for percent, the notional's currency for notional); `account_value` in base."""
    if size.kind == "quantity":  # as typed: a trader may mean an odd lot
        return size.amount
    if price <= 0:
        raise WorkstationError("size: the security has no positive price to size against")
    if size.kind == "percent":
        if account_value is None:
            raise WorkstationError("size: % of account needs the account's value")
        money = account_value * size.amount / Decimal(100)
    else:
        money = size.amount
    return board_lots(money * fx_to_security / (price * multiplier), lot_size)
