"""A broker that refuses an order message at the session (Reject, 35=3) or as a business message
(BusinessMessageReject, 35=j) instead of answering it: the engine hears what it would from a broker
that answered, so the order does not wait forever.

Some counterparts validate strictly and answer a NewOrderSingle they cannot take with a session
Reject (QuickFIX's own example executor does, for anything but a limit order, in every version), or
an OrderCancelRequest they do not support with a BusinessMessageReject (Unsupported message type).
Both name only RefSeqNum (45), so the ClOrdIDs each order message went out with are kept by
MsgSeqNum. A refused NewOrderSingle becomes a rejection (ExecType 8, OrdStatus 8, ExecID unique to
the refusal); a refused cancel or replace becomes an OrderCancelReject (the order keeps its status).
"""

from __future__ import annotations

import threading

import quickfix as fix

from connectors.fix import tags as T
from engine.oms.messages import CancelReject, ExecReport

KEPT = 10_000  # only recent messages can be refused
REFUSABLE = ("D", "F", "G")


class SentOrders:
    """Per broker, MsgSeqNum -> (MsgType, ClOrdID, OrigClOrdID) of the order messages sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, dict[int, tuple[str, str, str | None]]] = {}

    def note(self, broker: str, seq: int, message: fix.Message, kind: str) -> None:
        if kind not in REFUSABLE:
            return
        orig = message.getField(T.ORIG_CL_ORD_ID) if message.isSetField(T.ORIG_CL_ORD_ID) else None
        with self._lock:
            sent = self._sent.setdefault(broker, {})
            sent[seq] = (kind, message.getField(T.CL_ORD_ID), orig)
            while len(sent) > KEPT:
                del sent[next(iter(sent))]

    def find(self, broker: str, seq: int) -> tuple[str, str, str | None] | None:
        with self._lock:
            return self._sent.get(broker, {}).get(seq)


def _get(m: fix.Message, tag: int) -> str | None:
    return m.getField(tag) if m.isSetField(tag) else None


def refusal(
    message: fix.Message, broker: str, session_id: str, sent: SentOrders
) -> ExecReport | CancelReject | None:
    """What a Reject (3) or BusinessMessageReject (j) of one of our order messages means to the
    engine; None if it refers to none (it is then only logged)."""
    ref = _get(message, T.REF_SEQ_NUM)
    found = sent.find(broker, int(ref)) if ref and ref.isdigit() else None
    if found is None:
        return None
    kind, cl_ord_id, orig = found
    kind_name = (
        "session Reject" if message.getHeader().getField(T.MSG_TYPE) == "3" else "BusinessMessageReject"
    )
    text = f"{broker} refused it ({kind_name}): {_get(message, T.TEXT) or 'no text'}"
    if kind == "D":
        return ExecReport(
            broker=broker,
            exec_id=f"{session_id}:refused:{ref}",
            exec_type="8",
            ord_status="8",
            cl_ord_id=cl_ord_id,
            text=text,
        )
    return CancelReject(
        broker=broker,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig,
        ord_status="",
        response_to="1" if kind == "F" else "2",
        text=text,
    )
