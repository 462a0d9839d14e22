"""Immutable messages between the FIX connector and the OMS (built on quickfix threads, applied on
the engine thread). Inbound: what a broker said. Outbound: what the OMS asks a session to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- inbound (broker -> OMS)


@dataclass(frozen=True, slots=True)
class ExecReport:
    """A FIX 4.4 ExecutionReport (35=8). `broker` is the session's TargetCompID."""

    broker: str
    exec_id: str
    exec_type: str
    ord_status: str
    cl_ord_id: str
    orig_cl_ord_id: str | None = None
    broker_order_id: str | None = None
    symbol: str = ""
    side: str = ""
    order_qty: Decimal | None = None
    last_qty: Decimal = Decimal(0)
    last_px: Decimal = Decimal(0)
    cum_qty: Decimal = Decimal(0)
    leaves_qty: Decimal = Decimal(0)
    avg_px: Decimal = Decimal(0)
    transact_time: datetime | None = None
    text: str | None = None
    ord_rej_reason: int | None = None
    poss_dup: bool = False
    poss_resend: bool = False
    received_at: datetime = field(default_factory=_now)
    session_id: str = ""
    seq_num: int = 0
    """The session and MsgSeqNum it came with (engine.oms.progress: where to resume after a crash)."""

    @property
    def unknown_order(self) -> bool:
        """The broker's answer to a status request for an order it never received."""
        return self.exec_type == "I" and self.ord_status == "8" and self.ord_rej_reason == 5


@dataclass(frozen=True, slots=True)
class CancelReject:
    """A FIX OrderCancelReject (35=9) for a cancel (response_to 1) or a replace (2)."""

    broker: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    ord_status: str
    response_to: str
    broker_order_id: str | None = None
    reason: int | None = None
    text: str | None = None
    poss_dup: bool = False
    received_at: datetime = field(default_factory=_now)
    session_id: str = ""
    seq_num: int = 0


@dataclass(frozen=True, slots=True)
class SessionState:
    """A session went up or down, or beat: per-broker status for the blotter."""

    broker: str
    session_id: str
    kind: str  # logon, logout, heartbeat, create
    logged_on: bool
    next_sender_seq: int = 0
    next_target_seq: int = 0
    text: str | None = None
    at: datetime = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class SessionGap:
    """A sequence gap on a broker's session was bridged: we received a ResendRequest (35=2), or a
    SequenceReset-GapFill (35=4, 123=Y) was sent or received. Messages inside [begin_seq, end_seq]
    may never have reached the other side (QuickFIX gap-fills our resent orders, see
    connectors.fix.application), so the OMS asks the broker for every open order
    (engine.oms.loop). end_seq 0 means "to the latest"."""

    broker: str
    kind: str  # resend_request_received, gap_fill_sent, gap_fill_received
    begin_seq: int = 0
    end_seq: int = 0
    at: datetime = field(default_factory=_now)


Inbound = ExecReport | CancelReject | SessionState | SessionGap


# ---------------------------------------------------------------- outbound (OMS -> broker)


@dataclass(frozen=True, slots=True)
class NewOrder:
    """NewOrderSingle (35=D)."""

    broker: str
    cl_ord_id: str
    symbol: str
    mic: str
    side: str
    quantity: Decimal
    order_type: str
    time_in_force: str
    currency: str
    limit_price: Decimal | None = None
    account: str | None = None
    stop_price: Decimal | None = None
    expire_at: datetime | None = None
    strategy: str | None = None  # TargetStrategy (847) code
    strategy_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """OrderCancelRequest (35=F)."""

    broker: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: str
    quantity: Decimal
    broker_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    """OrderCancelReplaceRequest (35=G)."""

    broker: str
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    mic: str
    side: str
    quantity: Decimal
    order_type: str
    time_in_force: str
    currency: str
    limit_price: Decimal | None = None
    broker_order_id: str | None = None
    stop_price: Decimal | None = None
    expire_at: datetime | None = None
    strategy: str | None = None  # TargetStrategy (847) code
    strategy_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """OrderStatusRequest (35=H)."""

    broker: str
    cl_ord_id: str
    symbol: str
    side: str
    broker_order_id: str | None = None


Outbound = NewOrder | CancelOrder | ReplaceOrder | StatusRequest
