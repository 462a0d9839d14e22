"""Order statuses (FIX 4.4 OrdStatus plus the desk's pre-routing ones) and their FIX codes."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is. The first four never reach a broker; the rest are FIX 4.4 OrdStatus."""

    PENDING_APPROVAL = "pending_approval"  # flagged by compliance, waits for a reviewer
    HELD = "held"  # released, but its market is closed: waits for the open (release_at)
    RELEASED = "released"  # may route now
    IN_BLOCK = "in_block"  # a child aggregated into a block; the block routes, the child follows it
    PENDING_NEW = "pending_new"  # committed and (about to be) sent; no ack yet
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"
    DONE_FOR_DAY = "done_for_day"
    EXPIRED = "expired"


S = OrderStatus

FINAL: frozenset[OrderStatus] = frozenset({S.FILLED, S.CANCELED, S.REPLACED, S.REJECTED, S.EXPIRED})
"""Nothing more will happen to the order at the broker."""

LOCAL: frozenset[OrderStatus] = frozenset({S.PENDING_APPROVAL, S.HELD, S.RELEASED, S.IN_BLOCK})
"""Not yet at a broker (a child in a block follows its block instead)."""

AT_BROKER: frozenset[OrderStatus] = frozenset(
    {S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.DONE_FOR_DAY}
)
"""Sent (or committed to be sent) and not final: these are asked about after a restart."""

WORKING: frozenset[OrderStatus] = frozenset({S.NEW, S.PARTIALLY_FILLED})
"""Acknowledged and live: a cancel or a replace may be requested."""

FIX_ORD_STATUS: dict[str, OrderStatus] = {
    "0": S.NEW,
    "1": S.PARTIALLY_FILLED,
    "2": S.FILLED,
    "3": S.DONE_FOR_DAY,
    "4": S.CANCELED,
    "5": S.REPLACED,
    "6": S.PENDING_CANCEL,
    "8": S.REJECTED,
    "A": S.PENDING_NEW,
    "C": S.EXPIRED,
    "E": S.PENDING_REPLACE,
}
"""FIX OrdStatus (39) to our status."""

ORD_STATUS_CODE: dict[OrderStatus, str] = {v: k for k, v in FIX_ORD_STATUS.items()}


def is_final(status: str) -> bool:
    return status in FINAL
