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


SOH = "\x01"


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
    """An ExecutionReport on `o` as it is now; `fill` for ExecType F (LastQty, LastPx).

    Written as one tag=value string and parsed by QuickFIX in one call (no DataDictionary, no
    checks: the fields are ours), not set field by field: a report costs a tenth of the Python calls
    on the simulator's hot path. QuickFIX adds BeginString, CompIDs, SeqNum, BodyLength and CheckSum."""
    if is_42(version_of(o.sid)):  # fills are ExecType 1/2, a status reply ExecTransType 3
        et, tt = exec_type_42(exec_type, o.status)
        kind = f"{T.EXEC_TYPE}={et}{SOH}{EXEC_TRANS_TYPE}={tt}"
    else:
        kind = f"{T.EXEC_TYPE}={exec_type}"
    parts = [
        f"{T.MSG_TYPE}=8",
        f"{T.ORDER_ID}={o.order_id}",
        f"{T.CL_ORD_ID}={cl or o.cl_ord_id}",
        f"{T.EXEC_ID}={exec_id}",
        kind,
        f"{T.ORD_STATUS}={o.status}",
        f"{T.SYMBOL}={o.symbol}",
        f"{T.SIDE}={o.side}",
        f"{T.ORDER_QTY}={o.qty}",
        f"{T.ORD_TYPE}={o.order_type}",
        f"{T.TIME_IN_FORCE}={o.tif}",
        f"{T.LEAVES_QTY}={o.leaves}",
        f"{T.CUM_QTY}={o.cum}",
        f"{T.AVG_PX}={o.avg}",
        f"{T.TRANSACT_TIME}={utc_timestamp(now)}",
    ]
    if orig:
        parts.append(f"{T.ORIG_CL_ORD_ID}={orig}")
    if rej is not None:
        parts.append(f"{T.ORD_REJ_REASON}={rej}")
    if o.fx:
        parts.append(f"{T.SECURITY_TYPE}={T.SECURITY_TYPE_FX}")
        parts.append(f"{T.CURRENCY}={o.symbol[:3]}")
        parts.append(f"{T.SETTL_TYPE}={T.SETTL_TYPE_REGULAR}")
    if o.limit is not None:
        parts.append(f"{T.PRICE}={o.limit}")
    if o.stop is not None:
        parts.append(f"{T.STOP_PX}={o.stop}")
    if o.expire_at is not None:
        parts.append(f"{T.EXPIRE_TIME}={utc_timestamp(datetime.fromtimestamp(o.expire_at, UTC))}")
    if exec_type == "F":
        parts.append(f"{T.LAST_QTY}={fill.qty if fill else Decimal(0)}")
        parts.append(f"{T.LAST_PX}={fill.px if fill else Decimal(0)}")
    if text:
        parts.append(f"{T.TEXT}={text}")
    return fix.Message(SOH.join(parts) + SOH, False)


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
