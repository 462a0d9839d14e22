"""The SIMULATED broker's order: what it holds of one client order, and the terms it refuses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import quickfix as fix

from connectors.fix.versions import FixVersion, of_session

CENT = Decimal("0.01")
FX_PIP = Decimal("0.00001")  # FX rates are quoted to 5 decimals (3 against JPY)
FX_PIP_JPY = Decimal("0.001")
ORD_TYPES = ("1", "2", "3", "4", "5", "B")
TIMES_IN_FORCE = ("0", "1", "2", "3", "4", "6", "7")


@dataclass
class SimOrder:
    cl_ord_id: str
    order_id: str
    sid: fix.SessionID
    symbol: str
    mic: str
    side: str
    qty: Decimal
    order_type: str
    limit: Decimal | None
    tif: str
    ref_px: Decimal
    cum: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: str = "A"
    acked: bool = False
    fills: int = 0
    next_fill: float = 0.0
    close_at: float | None = None  # sim epoch seconds at which a day order expires
    stop: Decimal | None = None  # StopPx of a stop or stop-limit order
    triggered: bool = False  # a stop order whose StopPx the simulated price crossed
    expire_at: float | None = None  # sim epoch seconds at which a GTD order expires
    strategy: str | None = None  # TargetStrategy (847): 1 VWAP, 2 participate (POV), 3 minimise impact
    strategy_params: str | None = None  # TargetStrategyParameters (848)
    rate: str | None = None  # ParticipationRate (849)
    fx: bool = False  # an FX spot order: SecurityType FOR

    @property
    def leaves(self) -> Decimal:
        return self.qty - self.cum if self.status not in ("2", "4", "8", "C") else Decimal(0)

    @property
    def avg(self) -> Decimal:
        return (self.notional / self.cum).quantize(Decimal("0.000001")) if self.cum else Decimal(0)

    @property
    def live(self) -> bool:
        return self.status in ("A", "0", "1")

    @property
    def tick_size(self) -> Decimal:
        return CENT if not self.fx else FX_PIP_JPY if self.symbol.endswith("JPY") else FX_PIP

    @property
    def on_close(self) -> bool:
        """At the close: TimeInForce 7 (FIX 4.4), or OrdType 5 / B (before FIX 4.4)."""
        return self.tif == "7" or self.order_type in ("5", "B")


def fields(m: fix.Message) -> dict[int, str]:
    """Tag -> value of a message's header and body in one call into QuickFIX (a tag repeated in a
    group keeps its last value: read only tags outside groups). A NewOrderSingle is read this way,
    not by a getField and isSetField per tag, on the simulator's hot path."""
    out = {}
    for pair in m.toString().split("\x01"):
        tag, _, value = pair.partition("=")
        if tag:
            out[int(tag)] = value
    return out


def version_of(sid: fix.SessionID) -> FixVersion:
    """The FIX version a client session speaks (FIXT.1.1: 5.0 SP2)."""
    return of_session(sid.getBeginString().getValue())


def rate_ok(text: str | None) -> bool:
    """A ParticipationRate above 0 and at most 1."""
    try:
        return text is not None and 0 < Decimal(text) <= 1
    except ArithmeticError:
        return False


def problem(o: SimOrder) -> tuple[int, str] | None:
    """Order terms the simulator refuses (OrdRejReason 99 with a Text)."""
    if o.order_type in ("2", "4", "B") and (o.limit is None or o.limit <= 0):
        return (99, f"OrdType {o.order_type} needs a positive Price (44)")
    if o.order_type in ("3", "4") and (o.stop is None or o.stop <= 0):
        return (99, f"OrdType {o.order_type} needs a positive StopPx (99)")
    if o.order_type in ("5", "B") and (o.fx or o.tif != "0"):
        return (99, "an on-close order is a day order on an exchange")
    if o.strategy is not None and o.strategy not in ("1", "2", "3"):
        return (99, f"unknown TargetStrategy {o.strategy}")
    if o.strategy == "2" and not rate_ok(o.rate):
        return (99, f"participation (TargetStrategy 2) needs a ParticipationRate (849), not {o.rate!r}")
    if o.tif == "6" and o.expire_at is None:
        return (99, "a GTD order needs ExpireTime (126) or ExpireDate (432)")
    if o.order_type not in ORD_TYPES or o.tif not in TIMES_IN_FORCE:
        return (99, f"unsupported OrdType {o.order_type} or TimeInForce {o.tif}")
    return None
