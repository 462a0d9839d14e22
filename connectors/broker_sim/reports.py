"""The messages the SIMULATED broker answers with: ExecutionReport (35=8) in the client session's
version (FIX 4.2: fills as ExecType 1/2 with ExecTransType 0, a status reply as ExecTransType 3) and
OrderCancelReject (35=9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import quickfix as fix

from connectors.broker_sim.orders import SimOrder, version_of
from connectors.fix import tags as T
from connectors.fix.dialect import EXEC_TRANS_TYPE, exec_type_42, is_42
from connectors.fix.translate import utc_timestamp


@dataclass(frozen=True)
class Fill:
    qty: Decimal
    px: Decimal


def execution_report(
    o: SimOrder,
    exec_type: str,
    exec_id: str,
    now: datetime,
    *,
    cl: str | None = None,
    orig: str | None = None,
    fill: Fill | None = None,
    text: str | None = None,
    rej: int | None = None,
) -> fix.Message:
    """An ExecutionReport on `o` as it is now; `fill` for ExecType F (LastQty, LastPx)."""
    m = fix.Message()
    m.getHeader().setField(T.MSG_TYPE, "8")
    m.setField(T.ORDER_ID, o.order_id)
    m.setField(T.CL_ORD_ID, cl or o.cl_ord_id)
    if orig:
        m.setField(T.ORIG_CL_ORD_ID, orig)
    m.setField(T.EXEC_ID, exec_id)
    m.setField(T.EXEC_TYPE, exec_type)
    m.setField(T.ORD_STATUS, o.status)
    if rej is not None:
        m.setField(T.ORD_REJ_REASON, str(rej))
    m.setField(T.SYMBOL, o.symbol)
    if o.fx:
        m.setField(T.SECURITY_TYPE, T.SECURITY_TYPE_FX)
        m.setField(T.CURRENCY, o.symbol[:3])
        m.setField(T.SETTL_TYPE, T.SETTL_TYPE_REGULAR)
    m.setField(T.SIDE, o.side)
    m.setField(T.ORDER_QTY, str(o.qty))
    m.setField(T.ORD_TYPE, o.order_type)
    if o.limit is not None:
        m.setField(T.PRICE, str(o.limit))
    if o.stop is not None:
        m.setField(T.STOP_PX, str(o.stop))
    m.setField(T.TIME_IN_FORCE, o.tif)
    if o.expire_at is not None:
        m.setField(T.EXPIRE_TIME, utc_timestamp(datetime.fromtimestamp(o.expire_at, UTC)))
    if exec_type == "F":
        m.setField(T.LAST_QTY, str(fill.qty if fill else Decimal(0)))
        m.setField(T.LAST_PX, str(fill.px if fill else Decimal(0)))
    m.setField(T.LEAVES_QTY, str(o.leaves))
    m.setField(T.CUM_QTY, str(o.cum))
    m.setField(T.AVG_PX, str(o.avg))
    m.setField(T.TRANSACT_TIME, utc_timestamp(now))
    if text:
        m.setField(T.TEXT, text)
    if is_42(version_of(o.sid)):  # fills are ExecType 1/2, a status reply ExecTransType 3
        et, tt = exec_type_42(exec_type, o.status)
        m.setField(T.EXEC_TYPE, et)
        m.setField(EXEC_TRANS_TYPE, tt)
    return m


def cancel_reject(cl: str, orig: str, status: str, to: str, reason: int, text: str, oid: str) -> fix.Message:
    """An OrderCancelReject: `to` is CxlRejResponseTo (1 cancel, 2 cancel/replace)."""
    m = fix.Message()
    m.getHeader().setField(T.MSG_TYPE, "9")
    m.setField(T.ORDER_ID, oid)
    m.setField(T.CL_ORD_ID, cl)
    m.setField(T.ORIG_CL_ORD_ID, orig)
    m.setField(T.ORD_STATUS, status)
    m.setField(T.CXL_REJ_RESPONSE_TO, to)
    m.setField(T.CXL_REJ_REASON, str(reason))
    m.setField(T.TEXT, text)
    return m
