"""Immutable messages between the FIX connector and the OMS (built on quickfix threads, applied on
the engine thread). Inbound: what a broker said. Outbound: what the OMS asks a session to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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


@dataclass(frozen=True, slots=True)
class AllocAck:
    """A FIX 4.4 AllocationInstructionAck (35=P): AllocStatus 3 received, 0 accepted, 1 block-level
    reject, 2 account-level reject (per-account IndividualAllocRejCode in `accounts`), 5 rejected
    by an intermediary."""

    broker: str
    alloc_id: str
    alloc_status: str
    reject_code: int | None = None
    text: str | None = None
    accounts: tuple[tuple[str, int | None, str | None], ...] = ()
    """(AllocAccount, IndividualAllocRejCode, AllocText) of the NoAllocs group, if any."""
    poss_dup: bool = False
    received_at: datetime = field(default_factory=_now)
    session_id: str = ""
    seq_num: int = 0


@dataclass(frozen=True, slots=True)
class AllocReport:
    """A FIX 4.4 AllocationReport (35=AS) about one of our instructions (AllocID)."""

    broker: str
    report_id: str
    alloc_id: str
    alloc_status: str
    report_type: str = ""
    quantity: Decimal = Decimal(0)
    avg_px: Decimal = Decimal(0)
    reject_code: int | None = None
    text: str | None = None
    poss_dup: bool = False
    received_at: datetime = field(default_factory=_now)
    session_id: str = ""
    seq_num: int = 0


@dataclass(frozen=True, slots=True)
class BusinessReject:
    """A FIX BusinessMessageReject (35=j): the broker refused one of our messages as a whole
    (reason 3: it does not support that message type). `ref_id` is BusinessRejectRefID, or the
    AllocID the connector matched by RefSeqNum."""

    broker: str
    ref_msg_type: str
    ref_id: str
    reason: int | None = None
    text: str | None = None
    received_at: datetime = field(default_factory=_now)
    session_id: str = ""
    seq_num: int = 0


@dataclass(frozen=True, slots=True)
class Wake:
    """Not from a broker: wakes the engine thread waiting on its inbox (engine.oms.loop.OmsLoop.wake),
    so a desk command queued to that thread runs now rather than after the wait."""


Inbound = (
    ExecReport | CancelReject | AllocAck | AllocReport | BusinessReject | SessionState | SessionGap | Wake
)
SequencedInbound = (ExecReport, CancelReject, AllocAck, AllocReport, BusinessReject)
"""Broker messages that carry their session and MsgSeqNum (resume points, engine.oms.progress)."""


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


@dataclass(frozen=True, slots=True)
class AllocLine:
    """One account of an AllocationInstruction's NoAllocs group."""

    alloc_account: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class AllocInstruction:
    """AllocationInstruction (35=J): a block's fills given to its accounts, for the broker to book.
    `trans_type` new (AllocTransType 0) or replace (1, with `ref_alloc_id`); AllocType 2
    (preliminary: no fees or net money, the broker calculates them)."""

    broker: str
    alloc_id: str
    trans_type: str
    side: str
    symbol: str
    mic: str
    quantity: Decimal
    avg_px: Decimal
    currency: str
    trade_date: date
    cl_ord_ids: tuple[tuple[str, str | None], ...]
    """(ClOrdID, the broker's OrderID) of each order of the block (NoOrders)."""
    lines: tuple[AllocLine, ...]
    settle_date: date | None = None
    ref_alloc_id: str | None = None
    alloc_type: str = "2"

    @property
    def cl_ord_id(self) -> str:
        """The key the send path reports back (the AllocID here)."""
        return self.alloc_id


Outbound = NewOrder | CancelOrder | ReplaceOrder | StatusRequest | AllocInstruction
