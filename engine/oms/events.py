"""Engine events the OMS publishes after each committed change (the blotter listens)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.events import Event


@dataclass(frozen=True, kw_only=True)
class OrderChanged(Event):
    order_id: int
    cl_ord_id: str
    status: str
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderAlert(Event):
    """Something the broker said broke an invariant or the state table; the order is kept."""

    order_id: int | None
    cl_ord_id: str
    message: str


@dataclass(frozen=True, kw_only=True)
class BrokerSessionChanged(Event):
    broker: str
    logged_on: bool
    next_sender_seq: int
    next_target_seq: int
    kind: str


@dataclass(frozen=True, kw_only=True)
class AllocationChanged(Event):
    """A block's FIX allocation instruction moved (sent, acknowledged, accepted, rejected, ...)."""

    order_id: int
    """The block's order id (panels re-read that block's allocation rows)."""
    alloc_id: str
    status: str
    reason: str | None = None
