"""What differs between FIX 4.2, 4.4 and 5.0 SP2 in the messages the workstation exchanges.

translate.py builds and reads FIX 4.4 messages; this adapts them to a session's version, so the
engine's messages are the same whatever the version:

- FIX 4.2 has market-on-close (OrdType 5) and limit-on-close (B) as day orders and no TimeInForce 7;
  its Allocation (J) has no AllocType (626) or AllocNoOrdersType (857); its execution reports say a
  fill with ExecType 1 (partial) or 2 (fill), and ExecTransType (20) says New (0), Cancel (1, a trade
  bust: 4.4's ExecType H), Correct (2: 4.4's G) or Status (3: 4.4's I). Its AllocationInstructionAck
  has AllocStatus 0 accepted, 1 rejected (4.4: block level), 2 partial accept (4.4: account level),
  3 received, the same codes; AllocRejCode 0-7 mean the same; there is no AllocationReport (AS).
- FIX 5.0 SP2 over FIXT.1.1 carries the 4.4 application messages unchanged for what we use.
"""

from __future__ import annotations

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.versions import FixVersion

EXEC_TRANS_TYPE = 20
ON_CLOSE_42 = {"market_on_close": "5", "limit_on_close": "B"}
# FIX 4.2 ExecTransType -> the 4.4 ExecType with the same meaning (0 New keeps ExecType)
TRANS_TYPE_44 = {"1": "H", "2": "G", "3": "I"}


def is_42(version: FixVersion) -> bool:
    return version.name == "FIX.4.2"


def adapt_outbound(m: fix.Message, order_type: str | None, version: FixVersion) -> fix.Message:
    """A 4.4 message made right for `version` (`order_type`: the engine's, of a D or G)."""
    if not is_42(version):
        return m
    kind = m.getHeader().getField(T.MSG_TYPE)
    if kind in ("D", "G") and order_type in ON_CLOSE_42:
        m.setField(T.ORD_TYPE, ON_CLOSE_42[order_type])
        m.setField(T.TIME_IN_FORCE, T.TIF_CODE["day"])
    if kind == "J":
        m.removeField(T.ALLOC_TYPE)
        m.removeField(T.ALLOC_NO_ORDERS_TYPE)
    return m


def exec_type_44(version: FixVersion, exec_type: str, exec_trans_type: str | None) -> str:
    """The FIX 4.4 ExecType of a report's ExecType (and 4.2's ExecTransType)."""
    if not is_42(version):
        return exec_type
    if exec_trans_type in TRANS_TYPE_44:
        return TRANS_TYPE_44[exec_trans_type]
    return "F" if exec_type in ("1", "2") else exec_type


def exec_type_42(exec_type_44: str, ord_status: str) -> tuple[str, str]:
    """(ExecType, ExecTransType) in FIX 4.2 for a 4.4 ExecType (a simulated broker's reports)."""
    if exec_type_44 == "F":
        return ("2" if ord_status == "2" else "1", "0")
    if exec_type_44 == "I":
        return (ord_status, "3")
    return (exec_type_44, "0")
