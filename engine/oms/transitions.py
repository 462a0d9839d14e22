"""The order state table: (current status, incoming event) -> next status, FIX 4.4 semantics.

Every edge the OMS may take is a row of TABLE; anything else is an InvalidTransition, which the
service logs and alerts on while keeping the order (a broker is never "wrong" enough to crash us).
Two symbolic targets stand for a status computed at the time of the event:

- PREVIOUS: the status the order had before a cancel or replace was requested, advanced by any
  fill that arrived in between (a `new` order that was partly filled while a cancel was pending
  comes back as `partially_filled`, not `new`).
- BROKER: the broker's own OrdStatus in the report (order status replies and restatements: the
  broker's book is the truth we reconcile to).

Duplicate execution reports (same ExecID) never reach this table: they are dropped first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from engine.errors import InvalidTransition
from engine.oms.status import FINAL, WORKING
from engine.oms.status import OrderStatus as S
from engine.state.machine import Computed


class Incoming(StrEnum):
    """What happened to an order: a desk action or a broker message (ExecType or cancel reject)."""

    # desk actions
    APPROVE = "approve"
    COMPLIANCE_REJECT = "compliance_reject"
    HOLD = "hold"
    RELEASE = "release"
    AGGREGATE = "aggregate"
    SUBMIT = "submit"
    CANCEL_REQUEST = "cancel_request"
    REPLACE_REQUEST = "replace_request"
    # broker messages (ExecutionReport ExecType, OrderCancelReject)
    PENDING_NEW = "pending_new"  # ExecType A
    NEW = "new"  # ExecType 0
    PARTIAL_FILL = "partial_fill"  # ExecType F with LeavesQty > 0
    FULL_FILL = "full_fill"  # ExecType F with LeavesQty = 0
    DONE_FOR_DAY = "done_for_day"  # ExecType 3
    CANCELED = "canceled"  # ExecType 4
    REPLACED = "replaced"  # ExecType 5
    PENDING_CANCEL = "pending_cancel"  # ExecType 6
    REJECTED = "rejected"  # ExecType 8
    EXPIRED = "expired"  # ExecType C
    RESTATED = "restated"  # ExecType D
    PENDING_REPLACE = "pending_replace"  # ExecType E
    ORDER_STATUS = "order_status"  # ExecType I, the answer to an OrderStatusRequest
    CANCEL_REJECT = "cancel_reject"  # OrderCancelReject (35=9), for a cancel or a replace


PREVIOUS: Final = "<previous>"
BROKER: Final = "<broker>"

I = Incoming  # noqa: E741 - short alias keeps the table readable
Target = S | str

_LIVE_AT_BROKER = (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE)

TABLE: dict[tuple[S, Incoming], Target] = {
    # --- desk, before routing -------------------------------------------------------------
    (S.PENDING_APPROVAL, I.APPROVE): S.RELEASED,
    (S.PENDING_APPROVAL, I.COMPLIANCE_REJECT): S.REJECTED,
    (S.PENDING_APPROVAL, I.CANCEL_REQUEST): S.CANCELED,  # never sent: cancelled locally
    (S.RELEASED, I.HOLD): S.HELD,
    (S.HELD, I.RELEASE): S.RELEASED,  # at the open, or the trader's command
    (S.HELD, I.CANCEL_REQUEST): S.CANCELED,  # never sent: cancelled locally
    (S.RELEASED, I.CANCEL_REQUEST): S.CANCELED,  # never sent: cancelled locally
    (S.RELEASED, I.AGGREGATE): S.IN_BLOCK,
    (S.IN_BLOCK, I.CANCEL_REQUEST): S.CANCELED,  # a child leaves a block that was not yet sent
    (S.RELEASED, I.SUBMIT): S.PENDING_NEW,  # committed before it is sent
    (S.HELD, I.HOLD): S.HELD,  # re-hold with a new release time (a later open)
    # --- acknowledgements ------------------------------------------------------------------
    (S.PENDING_NEW, I.PENDING_NEW): S.PENDING_NEW,
    (S.PENDING_NEW, I.NEW): S.NEW,
    (S.PENDING_NEW, I.REJECTED): S.REJECTED,
    # The ack can arrive after we asked to cancel or replace: the request is still pending.
    (S.PENDING_CANCEL, I.NEW): S.PENDING_CANCEL,
    (S.PENDING_REPLACE, I.NEW): S.PENDING_REPLACE,
    (S.PENDING_CANCEL, I.PENDING_NEW): S.PENDING_CANCEL,
    (S.PENDING_REPLACE, I.PENDING_NEW): S.PENDING_REPLACE,
    # A repeated ack with a fresh ExecID (e.g. after a restatement) changes nothing.
    (S.NEW, I.NEW): S.NEW,
    # --- fills -------------------------------------------------------------------------------
    # A broker may fill without sending a New ack first.
    (S.PENDING_NEW, I.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, I.FULL_FILL): S.FILLED,
    (S.NEW, I.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, I.FULL_FILL): S.FILLED,
    (S.PARTIALLY_FILLED, I.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, I.FULL_FILL): S.FILLED,
    # A fill racing a cancel: the cancel is still pending for what is left...
    (S.PENDING_CANCEL, I.PARTIAL_FILL): S.PENDING_CANCEL,
    # ...unless nothing is left: the order is filled and the cancel will be rejected (too late).
    (S.PENDING_CANCEL, I.FULL_FILL): S.FILLED,
    (S.PENDING_REPLACE, I.PARTIAL_FILL): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, I.FULL_FILL): S.FILLED,
    # A day order done for the day can still get a late fill reported for that day.
    (S.DONE_FOR_DAY, I.PARTIAL_FILL): S.DONE_FOR_DAY,
    (S.DONE_FOR_DAY, I.FULL_FILL): S.FILLED,
    # --- cancel ---------------------------------------------------------------------------------
    (S.PENDING_NEW, I.CANCEL_REQUEST): S.PENDING_CANCEL,  # FIX allows cancelling before the ack
    (S.NEW, I.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, I.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, I.PENDING_CANCEL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, I.CANCELED): S.CANCELED,
    # Unsolicited cancels: the broker (or the exchange) cancelled an order nobody asked it to.
    (S.PENDING_NEW, I.CANCELED): S.CANCELED,
    (S.NEW, I.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, I.CANCELED): S.CANCELED,
    (S.PENDING_REPLACE, I.CANCELED): S.CANCELED,
    (S.DONE_FOR_DAY, I.CANCELED): S.CANCELED,
    # A cancel reject returns the order to where it was (advanced by fills in between).
    (S.PENDING_CANCEL, I.CANCEL_REJECT): PREVIOUS,
    (S.PENDING_REPLACE, I.CANCEL_REJECT): PREVIOUS,
    # The reject for a cancel that lost the race to a fill, or to an unsolicited cancel: too late,
    # the order already is where the broker says; nothing changes.
    (S.FILLED, I.CANCEL_REJECT): S.FILLED,
    (S.CANCELED, I.CANCEL_REJECT): S.CANCELED,
    (S.EXPIRED, I.CANCEL_REJECT): S.EXPIRED,
    # The broker also rejects requests for orders it already finished, even if we think it live.
    (S.NEW, I.CANCEL_REJECT): S.NEW,
    (S.PARTIALLY_FILLED, I.CANCEL_REJECT): S.PARTIALLY_FILLED,
    # --- replace --------------------------------------------------------------------------------
    (S.NEW, I.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.PARTIALLY_FILLED, I.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, I.PENDING_REPLACE): S.PENDING_REPLACE,
    # Replaced: the order lives on under its new ClOrdID, new or partly filled by its quantities
    # (the superseded ClOrdID is what FIX calls "replaced"; see engine.oms.service).
    (S.PENDING_REPLACE, I.REPLACED): PREVIOUS,
    # --- end of day -------------------------------------------------------------------------------
    (S.NEW, I.DONE_FOR_DAY): S.DONE_FOR_DAY,
    (S.PARTIALLY_FILLED, I.DONE_FOR_DAY): S.DONE_FOR_DAY,
    (S.PENDING_CANCEL, I.DONE_FOR_DAY): S.DONE_FOR_DAY,
    (S.PENDING_NEW, I.EXPIRED): S.EXPIRED,
    (S.NEW, I.EXPIRED): S.EXPIRED,
    (S.PARTIALLY_FILLED, I.EXPIRED): S.EXPIRED,
    # Expiry beats a pending request: at the close the broker ends the order whatever we asked.
    (S.PENDING_CANCEL, I.EXPIRED): S.EXPIRED,
    (S.PENDING_REPLACE, I.EXPIRED): S.EXPIRED,
    (S.DONE_FOR_DAY, I.EXPIRED): S.EXPIRED,
}

# Status replies and restatements: the broker's OrdStatus is the truth for any order it holds.
for _status in (*_LIVE_AT_BROKER, S.DONE_FOR_DAY):
    TABLE[(_status, I.ORDER_STATUS)] = BROKER
    TABLE[(_status, I.RESTATED)] = BROKER
# A status reply for an order we hold as final can only confirm it (anything else is alerted).
for _status in (S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED):
    TABLE[(_status, I.ORDER_STATUS)] = BROKER


def by_quantity(cum_qty: Decimal, order_qty: Decimal) -> S:
    """new, partially_filled or filled, from the quantities alone."""
    if cum_qty <= 0:
        return S.NEW
    return S.FILLED if cum_qty >= order_qty else S.PARTIALLY_FILLED


def back_from_request(previous: str | None, cum_qty: Decimal, order_qty: Decimal) -> S:
    """PREVIOUS: where a cancel or replace request returns the order, advanced by fills since."""
    prev = S(previous) if previous else S.NEW
    if prev == S.PENDING_NEW and cum_qty <= 0:
        return S.PENDING_NEW
    if prev in (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED):
        return by_quantity(cum_qty, order_qty)
    return prev


def resolve(
    current: str,
    incoming: Incoming,
    *,
    previous: str | None = None,
    broker_status: str | None = None,
    cum_qty: Decimal = Decimal(0),
    order_qty: Decimal = Decimal(0),
) -> S:
    """The next status, or InvalidTransition if the table has no such edge."""
    try:
        target = TABLE[(S(current), incoming)]
    except (KeyError, ValueError):
        raise InvalidTransition("order", str(current), str(incoming)) from None
    if target == BROKER:
        if broker_status is None:
            raise InvalidTransition("order", str(current), f"{incoming} without OrdStatus")
        return S(broker_status)
    if target == PREVIOUS:
        return back_from_request(previous, cum_qty, order_qty)
    return S(target)


# --- the order state machine's table ----------------------------------------------------------
# Events are the order_events kinds: desk actions by name, broker reports as "exec:<incoming>",
# the cancel reject as "cancel_reject". Besides TABLE's edges the OMS records these:

CREATED: Final = "created"  # a new order checked by compliance: pass/warn released, flag waits
COMPLIANCE_BLOCK: Final = "compliance_block"  # a new order compliance blocks outright
BLOCK_CREATED: Final = "block_created"  # a block is born released from its released children
FOLLOW: Final = "follow"  # a child of a block ends as its block ended (bulk: kinds say why)
NOTES: Final = {
    # Self-loops: something happened to the order that leaves its status as it is.
    "alert": None,  # an invariant or the table was broken (any status)
    "ignored": None,  # a broker message the table has no edge for (kept, alerted)
    "resend": (S.PENDING_NEW,),  # the broker never got it: sent again under the same ClOrdID
    "status_request": tuple(s for s in S if s not in FINAL),  # asked at logon / after a gap
    "request_reissued": (S.PENDING_CANCEL, S.PENDING_REPLACE),  # our request was lost: asked again
    "replace_held": tuple(WORKING),  # a loosened replace compliance holds: not sent
    "replaced": (S.PENDING_REPLACE,),  # the superseded ClOrdID is replaced; the order continues
    "resized": (S.IN_BLOCK,),  # a child shrinks with its replaced block
    "child_left": (S.RELEASED, S.HELD),  # a child cancelled out of a block not yet sent
    "rebrokered": (S.RELEASED,),  # the trader routes it to another broker than the one it named
}

_DESK = {I.APPROVE, I.COMPLIANCE_REJECT, I.HOLD, I.RELEASE, I.AGGREGATE, I.SUBMIT, I.CANCEL_REQUEST,
         I.REPLACE_REQUEST, I.CANCEL_REJECT}  # fmt: skip


def event_of(incoming: Incoming) -> str:
    """The machine's event (and order_events kind) for a desk action or a broker message."""
    return str(incoming) if incoming in _DESK else f"exec:{incoming}"


def _previous(order: Any, facts: Mapping[str, Any]) -> str:
    return back_from_request(
        getattr(order, "prev_status", None), getattr(order, "cum_qty", Decimal(0)),
        getattr(order, "quantity", Decimal(0)),
    )  # fmt: skip


def _broker(order: Any, facts: Mapping[str, Any]) -> str:
    """The broker's OrdStatus; but an order we asked to cancel or replace that the broker holds
    live never got the request (lost in a crash or a cut link): it stays pending, asked again."""
    status = facts.get("broker_status")
    if status is None:
        raise InvalidTransition(
            "order", str(getattr(order, "status", "?")), "status report without OrdStatus"
        )
    current = getattr(order, "status", None)
    if facts.get("reissue") and current in (S.PENDING_CANCEL, S.PENDING_REPLACE) and status in WORKING:
        return str(current)
    return str(S(str(status)))


def _created(order: Any, facts: Mapping[str, Any]) -> str:
    return str(S.RELEASED if facts.get("compliance") in ("pass", "warn") else S.PENDING_APPROVAL)


def _follow(order: Any, facts: Mapping[str, Any]) -> str:
    """A child ends as its block: only into a final status (the bulk path checks each child)."""
    status = S(str(facts.get("status")))
    if status not in FINAL:
        raise InvalidTransition("order", str(getattr(order, "status", "in_block")), f"follow to {status}")
    return str(status)


PREVIOUS_STATUS = Computed("previous", _previous)
BROKER_STATUS = Computed("broker", _broker)


def machine_table() -> dict[tuple[str, str], str | Computed]:
    """TABLE with the machine's event names, computed targets and the OMS's own records."""
    out: dict[tuple[str, str], str | Computed] = {}
    for (status, incoming), target in TABLE.items():
        to: str | Computed = (
            PREVIOUS_STATUS if target == PREVIOUS else BROKER_STATUS if target == BROKER else str(target)
        )
        out[(str(status), event_of(incoming))] = to
    out[(str(S.PENDING_APPROVAL), CREATED)] = Computed("compliance", _created)
    out[(str(S.PENDING_APPROVAL), COMPLIANCE_BLOCK)] = str(S.REJECTED)
    out[(str(S.RELEASED), BLOCK_CREATED)] = str(S.RELEASED)
    out[(str(S.IN_BLOCK), FOLLOW)] = Computed("block", _follow)
    for note, sources in NOTES.items():
        for status in sources if sources is not None else tuple(S):
            out.setdefault((str(status), note), str(status))
    return out
