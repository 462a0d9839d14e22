"""The cost of one order, from its fills and the market's marks (plain Decimal arithmetic).

Sign convention: positive is a cost, for buys and sells alike (s = +1 buy, -1 sell).
Q order quantity, F filled, P average fill price, A arrival price, E the market at the order's end,
V the interval VWAP of the market's prints from the first to the last fill:

- execution cost   = s * F * (P - A)                 (order currency)
- opportunity cost = s * (Q - F) * (E - A)           (the unfilled remainder of a cancelled or
                                                      expired order, valued at the market at its end)
- shortfall        = execution + opportunity + fees  (fees only where the broker reported them)
- shortfall bps    = shortfall / (Q * A) * 10,000    (against the paper portfolio at arrival)
- slippage vs arrival bps = s * (P - A) / A * 10,000;  vs VWAP bps = s * (P - V) / V * 10,000
- fill rate = F / Q. Base-currency money is order-currency money times the FX rate of the trade date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

BPS = Decimal(10_000)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the analysis of one order needs, as stored."""

    order_id: int
    cl_ord_id: str
    broker: str
    trader: str
    symbol: str
    side: str  # buy or sell (sell_short counts as a sell)
    quantity: Decimal
    currency: str
    status: str
    trade_date: date
    fills: Sequence[tuple[Decimal, Decimal]]  # (quantity, price) per fill
    arrival: Decimal | None
    end_px: Decimal | None
    prints: Sequence[tuple[Decimal, Decimal]]  # (price, size) of the market over the fill interval
    fx: Decimal | None  # base-currency units per order-currency unit on the trade date
    fees: Decimal | None = None  # order currency; None: not reported by the broker


@dataclass(frozen=True, slots=True)
class OrderCost:
    """The measured cost of one order; None where an input is missing (said in `missing`)."""

    facts: OrderFacts
    filled: Decimal
    avg_px: Decimal | None
    vwap: Decimal | None
    fill_rate: Decimal
    execution_cost: Decimal | None
    opportunity_cost: Decimal | None
    shortfall: Decimal | None
    shortfall_bps: Decimal | None
    slippage_arrival_bps: Decimal | None
    slippage_vwap_bps: Decimal | None
    missing: tuple[str, ...]

    def base(self, amount: Decimal | None) -> Decimal | None:
        """An order-currency amount in the base currency (None without a rate)."""
        return None if amount is None or self.facts.fx is None else amount * self.facts.fx

    @property
    def paper_notional(self) -> Decimal | None:
        """Q * A: what the whole order was worth at arrival (order currency)."""
        a = self.facts.arrival
        return None if a is None else self.facts.quantity * a

    @property
    def filled_notional(self) -> Decimal:
        return self.filled * (self.avg_px or ZERO)


def vwap(prints: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Size-weighted mean price of (price, size) prints, None without any."""
    size = sum((q for _, q in prints), start=ZERO)
    return None if size <= 0 else sum((p * q for p, q in prints), start=ZERO) / size


def measure(f: OrderFacts) -> OrderCost:
    """The cost of one order (formulas in the module docstring)."""
    s = Decimal(1) if f.side == "buy" else Decimal(-1)
    filled = sum((q for q, _ in f.fills), start=ZERO)
    avg = sum((q * p for q, p in f.fills), start=ZERO) / filled if filled > 0 else None
    v = vwap(f.prints) if filled > 0 else None
    a = f.arrival
    rest = max(f.quantity - filled, ZERO)
    missing: list[str] = []
    if a is None:
        missing.append("arrival price")
    if rest > 0 and f.end_px is None:
        missing.append("market at the end")
    if filled > 0 and v is None:
        missing.append("market prints")
    execution = None if a is None or avg is None else s * filled * (avg - a)
    if a is not None and avg is None:
        execution = ZERO
    opportunity = ZERO if rest == 0 else None if a is None or f.end_px is None else s * rest * (f.end_px - a)
    shortfall = (
        None if execution is None or opportunity is None else execution + opportunity + (f.fees or ZERO)
    )
    paper = None if a is None else f.quantity * a
    return OrderCost(
        facts=f,
        filled=filled,
        avg_px=avg,
        vwap=v,
        fill_rate=filled / f.quantity if f.quantity > 0 else ZERO,
        execution_cost=execution,
        opportunity_cost=opportunity,
        shortfall=shortfall,
        shortfall_bps=None if shortfall is None or not paper else shortfall / paper * BPS,
        slippage_arrival_bps=None if a is None or avg is None or a == 0 else s * (avg - a) / a * BPS,
        slippage_vwap_bps=None if v is None or avg is None or v == 0 else s * (avg - v) / v * BPS,
        missing=tuple(missing),
    )
