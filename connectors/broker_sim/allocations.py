"""The SIMULATED broker's post-trade desk: answers an AllocationInstruction (35=J) with an
AllocationInstructionAck (35=P), AllocStatus 3 (received) then 0 (accepted) or a rejection with
AllocRejCode and Text, and an AllocationReport (35=AS, AllocReportType 3, sell side calculated
using preliminary) per accepted instruction.

What it checks, as a broker's middle office would: each AllocAccount is one it knows (the fault
knob `unknown_alloc_accounts`: an account-level reject, AllocStatus 2, AllocRejCode 0, the
account's IndividualAllocRejCode in NoAllocs); AllocQty adds up to Quantity (8); every ClOrdID is
an order it executed (12) and together they filled Quantity (1) at AvgPx (2); a Replace names
(RefAllocID) an instruction it has (7). To a FIX 4.2 client: AllocRejCode 8 and 12 do not exist
(1 incorrect quantity and 5 unknown OrderID instead), the ack has TradeDate and no NoAllocs, and
there is no AllocationReport. `reject_allocs` rejects the first N at block level;
`ignore_allocs` answers nothing. The same AllocID twice (a resend) gets the same answer again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.translate import utc_timestamp
from connectors.fix.versions import of_session

CODES_42 = {8: 1, 12: 5}  # AllocRejCodes FIX 4.2 lacks -> its nearest

if TYPE_CHECKING:
    from connectors.broker_sim.application import BrokerSimulator


@dataclass
class _Answer:
    status: str
    code: int | None = None
    text: str | None = None
    bad_accounts: list[str] = field(default_factory=list)
    report_id: str | None = None


def _get(m: fix.FieldMap, tag: int) -> str | None:
    return m.getField(tag) if m.isSetField(tag) else None


def _groups(m: fix.Message, count: int, first: int, tags: tuple[int, ...]) -> list[dict[int, str | None]]:
    n = int(_get(m, count) or 0)
    out = []
    for i in range(1, n + 1):
        g = fix.Group(count, first)
        m.getGroup(i, g)
        out.append({t: _get(g, t) for t in tags})
    return out


class SimAllocations:
    """Answers J messages for the simulator (called under its lock from fromApp)."""

    def __init__(self, sim: BrokerSimulator) -> None:
        self.sim = sim
        self.answers: dict[str, _Answer] = {}
        self.rejected = 0
        self.reports = itertools.count(1)

    def instruction(self, m: fix.Message, sid: fix.SessionID) -> None:
        alloc_id = m.getField(T.ALLOC_ID)
        orders = _groups(m, T.NO_ORDERS, T.CL_ORD_ID, (T.CL_ORD_ID, T.ORDER_ID))
        lines = _groups(m, T.NO_ALLOCS, T.ALLOC_ACCOUNT, (T.ALLOC_ACCOUNT, T.ALLOC_QTY))
        note: dict[str, Any] = {
            "alloc_id": alloc_id,
            "trans_type": _get(m, T.ALLOC_TRANS_TYPE),
            "ref_alloc_id": _get(m, T.REF_ALLOC_ID),
            "alloc_type": _get(m, T.ALLOC_TYPE),
            "quantity": _get(m, T.QUANTITY),
            "avg_px": _get(m, T.AVG_PX),
            "trade_date": _get(m, T.TRADE_DATE),
            "cl_ord_ids": [o[T.CL_ORD_ID] for o in orders],
            "allocs": [[x[T.ALLOC_ACCOUNT], x[T.ALLOC_QTY]] for x in lines],
        }
        if self.sim.cfg.ignore_allocs:
            self.sim.note("allocation_ignored", **note)
            return
        again = self.answers.get(alloc_id)
        answer = again or self._check(m, orders, lines)
        self.answers[alloc_id] = answer
        fix42 = of_session(sid.getBeginString().getValue()).name == "FIX.4.2"
        day = m.getField(T.TRADE_DATE)
        self._ack(sid, alloc_id, day, "3")
        self._ack(sid, alloc_id, day, answer.status, answer, [] if fix42 else lines, fix42)
        if answer.status == "0" and not fix42:
            answer.report_id = answer.report_id or f"{self.sim.prefix}-AR{next(self.reports)}"
            self._report(m, sid, answer.report_id, orders, lines)
        self.sim.note("allocation", status=answer.status, code=answer.code, text=answer.text,
                       again=again is not None, **note)  # fmt: skip

    def _check(
        self, m: fix.Message, orders: list[dict[int, str | None]], lines: list[dict[int, str | None]]
    ) -> _Answer:
        cfg = self.sim.cfg
        unknown = [str(x[T.ALLOC_ACCOUNT]) for x in lines if x[T.ALLOC_ACCOUNT] in cfg.unknown_alloc_accounts]
        if unknown:
            return _Answer("2", 0, f"unknown account(s): {', '.join(unknown)}", unknown)
        if self.rejected < cfg.reject_allocs:
            self.rejected += 1
            return _Answer("1", 7, "simulated rejection (--reject-allocs)")
        ref = _get(m, T.REF_ALLOC_ID)
        if _get(m, T.ALLOC_TRANS_TYPE) in ("1", "2") and ref not in self.answers:
            return _Answer("1", 7, f"RefAllocID {ref} is not an allocation we have")
        qty = Decimal(m.getField(T.QUANTITY))
        allocated = sum((Decimal(x[T.ALLOC_QTY] or 0) for x in lines), Decimal(0))
        if allocated != qty:
            return _Answer("1", 8, f"AllocQty adds up to {allocated}, Quantity is {qty}")
        known = [self.sim.orders.get(str(o[T.CL_ORD_ID])) for o in orders]
        if not orders or any(o is None for o in known):
            return _Answer("1", 12, "unknown ClOrdID")
        cum = sum((o.cum for o in known if o is not None), Decimal(0))
        if cum != qty:
            return _Answer("1", 1, f"we executed {cum}, not {qty}")
        notional = sum((o.notional for o in known if o is not None), Decimal(0))
        avg = (notional / cum).quantize(Decimal("0.000001")) if cum else Decimal(0)
        if abs(avg - Decimal(m.getField(T.AVG_PX))) > Decimal("0.0001"):
            return _Answer("1", 2, f"we executed at {avg} on average, not {m.getField(T.AVG_PX)}")
        return _Answer("0")

    def _ack(
        self,
        sid: fix.SessionID,
        alloc_id: str,
        trade_date: str,
        status: str,
        answer: _Answer | None = None,
        lines: list[dict[int, str | None]] | None = None,
        fix42: bool = False,
    ) -> None:
        p = fix.Message()
        p.getHeader().setField(T.MSG_TYPE, "P")
        p.setField(T.ALLOC_ID, alloc_id)
        p.setField(T.TRADE_DATE, trade_date)
        p.setField(T.TRANSACT_TIME, utc_timestamp(self.sim.markets.clock.now()))
        p.setField(T.ALLOC_STATUS, status)
        if answer is not None and answer.code is not None:
            code = CODES_42.get(answer.code, answer.code) if fix42 else answer.code
            p.setField(T.ALLOC_REJ_CODE, str(code))
        if answer is not None and answer.text:
            p.setField(T.TEXT, answer.text)
        if answer is not None and answer.bad_accounts:
            for x in lines or []:
                if x[T.ALLOC_ACCOUNT] in answer.bad_accounts:
                    g = fix.Group(T.NO_ALLOCS, T.ALLOC_ACCOUNT)
                    g.setField(T.ALLOC_ACCOUNT, str(x[T.ALLOC_ACCOUNT]))
                    g.setField(T.INDIVIDUAL_ALLOC_REJ_CODE, "0")
                    g.setField(T.ALLOC_TEXT, "unknown account")
                    p.addGroup(g)
        self.sim.send(p, sid)

    def _report(
        self,
        m: fix.Message,
        sid: fix.SessionID,
        report_id: str,
        orders: list[dict[int, str | None]],
        lines: list[dict[int, str | None]],
    ) -> None:
        r = fix.Message()
        r.getHeader().setField(T.MSG_TYPE, "AS")
        r.setField(T.ALLOC_REPORT_ID, report_id)
        r.setField(T.ALLOC_ID, m.getField(T.ALLOC_ID))
        r.setField(T.ALLOC_TRANS_TYPE, m.getField(T.ALLOC_TRANS_TYPE))
        r.setField(T.ALLOC_REPORT_TYPE, T.ALLOC_REPORT_SELLSIDE_USING_PRELIMINARY)
        r.setField(T.ALLOC_STATUS, "0")
        r.setField(T.ALLOC_NO_ORDERS_TYPE, T.ALLOC_NO_ORDERS_EXPLICIT)
        for o in orders:
            g = fix.Group(T.NO_ORDERS, T.CL_ORD_ID)
            g.setField(T.CL_ORD_ID, str(o[T.CL_ORD_ID]))
            r.addGroup(g)
        for tag in (T.SIDE, T.SYMBOL, T.QUANTITY, T.AVG_PX, T.TRADE_DATE):
            r.setField(tag, m.getField(tag))
        if m.isSetField(T.SECURITY_EXCHANGE):
            r.setField(T.SECURITY_EXCHANGE, m.getField(T.SECURITY_EXCHANGE))
        for x in lines:
            g = fix.Group(T.NO_ALLOCS, T.ALLOC_ACCOUNT)
            g.setField(T.ALLOC_ACCOUNT, str(x[T.ALLOC_ACCOUNT]))
            g.setField(T.ALLOC_QTY, str(x[T.ALLOC_QTY]))
            r.addGroup(g)
        self.sim.send(r, sid)
