"""The SIMULATED broker's order handling: acknowledge, fill over time near a reference price,
cancel, replace, answer status requests, honour market hours, and inject faults on request.

It speaks each client session's version: FIX 4.2 (fills as ExecType 1/2 with ExecTransType 0, a
status reply as ExecTransType 3), FIX 4.4, or FIX 5.0 SP2 over FIXT.1.1 (as 4.4).

Order types and time in force (FIX 4.4): market and limit fill over time; a stop (OrdType 3) or
stop-limit (4) waits until the simulated price crosses StopPx (a buy at or above it, a sell at or
below), then works as a market or limit order; an at-the-close order (59=7: FIX 4.4's market-on-close
and limit-on-close; OrdType 5 and B of older versions too) fills in full at the simulated close, a
limit one only if the close is within its limit, else it expires; IOC (59=3) fills
what the book offers at once (one part of --fill-parts) and cancels the rest (ExecType 4 with
CumQty); FOK (59=4) fills in full at once (only when --fill-parts is 1) or is cancelled; GTD (59=6)
expires (ExecType C) at ExpireTime (126), or at the close of ExpireDate (432). A TargetStrategy (847)
must be 1 (VWAP), 2 (participate, with a ParticipationRate 849 in (0, 1]) or 3; the simulator
records the strategy and its parameters (848) in its journal and otherwise fills as usual. The simulated price is
the simulated market's tape (connectors.broker_sim.tape): the reference price moved by up to 0.2 %.

FX spot orders (SecurityType FOR, Symbol the pair, quantity in the dealt currency) fill near the
book's FX rate for the pair, round the clock, and never expire at an exchange's close.

quickfix calls fromApp on its threads and a worker thread drives fills and expiries; one lock
guards the simulated book.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from connectors.broker_sim.allocations import SimAllocations
from connectors.broker_sim.clockwork import Clockwork
from connectors.broker_sim.faults import SimSettings
from connectors.broker_sim.orders import SimOrder, fields, problem
from connectors.broker_sim.reports import Fill, cancel_reject, execution_report
from connectors.broker_sim.tape import SimulatedTape
from connectors.fix import tags as T
from connectors.fix.translate import parse_timestamp
from engine.markets.clock import MarketClock

log = logging.getLogger(__name__)


class BrokerSimulator(fix.Application):  # type: ignore[misc]
    """A simulated executing broker (acceptor side). Not a real broker: prices are simulated."""

    def __init__(
        self,
        settings: SimSettings,
        prices: dict[str, Decimal],
        markets: MarketClock,
        journal: Path | None = None,
    ) -> None:
        super().__init__()
        self.cfg = settings
        self.prices = prices
        self.markets = markets
        self.rng = random.Random(settings.seed)
        self.lock = threading.RLock()
        self.orders: dict[str, SimOrder] = {}
        self.ids = itertools.count(1)
        self.prefix = f"S{os.getpid()}{int(time.time()) % 100000}"
        self.sent_app = 0
        self.drop_due = False
        self.dropped = False
        self.delayed: list[tuple[float, SimOrder]] = []
        self.journal = journal.open("a", encoding="utf-8") if journal else None
        self.stop = threading.Event()
        self.clockwork = Clockwork(self)
        self.worker = threading.Thread(target=self.clockwork.run, name="broker-sim", daemon=True)
        self.allocations = SimAllocations(self)
        self.tape = SimulatedTape(prices, settings.seed)

    # ------------------------------------------------------------ quickfix callbacks

    def onCreate(self, sessionID: fix.SessionID) -> None:
        pass

    def onLogon(self, sessionID: fix.SessionID) -> None:
        log.info("sim: logon %s", sessionID.toString())

    def onLogout(self, sessionID: fix.SessionID) -> None:
        log.info("sim: logout %s", sessionID.toString())

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        kind = message.getHeader().getField(T.MSG_TYPE)
        try:
            with self.lock:
                if kind == "D":
                    self._new(message, sessionID)
                elif kind == "F":
                    self._cancel(message, sessionID)
                elif kind == "G":
                    self._replace(message, sessionID)
                elif kind == "H":
                    self._status(message, sessionID)
                elif kind == "J":
                    self.allocations.instruction(message, sessionID)
        except Exception:
            log.exception("sim: failed on %s", message.toString().replace("\x01", "|"))

    # ------------------------------------------------------------ helpers

    def note(self, event: str, **data: Any) -> None:
        if self.journal is not None:
            self.journal.write(json.dumps({"event": event, **data}, default=str) + "\n")
            self.journal.flush()

    def send(self, m: fix.Message, sid: fix.SessionID) -> None:
        fix.Session.sendToTarget(m, sid)
        self.sent_app += 1
        if self.cfg.drop_after and not self.dropped and self.sent_app >= self.cfg.drop_after:
            self.drop_due = True
            self.clockwork.wake.set()
        if (
            self.cfg.duplicate_rate
            and m.getHeader().getField(T.MSG_TYPE) == "8"
            and self.rng.random() < self.cfg.duplicate_rate
        ):
            dup = fix.Message(m)
            dup.getHeader().setField(T.POSS_RESEND, "Y")
            fix.Session.sendToTarget(dup, sid)
            self.note("duplicate_sent", exec_id=m.getField(T.EXEC_ID))

    def _exec_id(self) -> str:
        return f"{self.prefix}-{next(self.ids)}"

    def report(
        self,
        o: SimOrder,
        exec_type: str,
        *,
        sid: fix.SessionID | None = None,
        cl: str | None = None,
        orig: str | None = None,
        fill: Fill | None = None,
        text: str | None = None,
        rej: int | None = None,
    ) -> None:
        """Send an ExecutionReport on `o` to its session (or `sid`)."""
        now = self.markets.clock.now()
        m = execution_report(
            o, exec_type, self._exec_id(), now, cl=cl, orig=orig, fill=fill, text=text, rej=rej
        )
        self.send(m, sid or o.sid)

    def _cancel_reject(
        self, sid: fix.SessionID, cl: str, orig: str, status: str, to: str, reason: int, text: str, oid: str
    ) -> None:
        self.send(cancel_reject(cl, orig, status, to, reason, text, oid), sid)
        self.note("cancel_reject", cl_ord_id=orig, text=text)

    def _expiry(self, f: dict[int, str], mic: str) -> float | None:
        """ExpireTime (126), else the close of ExpireDate (432) at the order's exchange, in epoch seconds."""
        if T.EXPIRE_TIME in f:
            at = parse_timestamp(f[T.EXPIRE_TIME])
            return None if at is None else at.timestamp()
        if T.EXPIRE_DATE in f:
            day = datetime.strptime(f[T.EXPIRE_DATE], "%Y%m%d").replace(tzinfo=UTC)
            try:
                return self.markets.next_close(mic or "XNYS", day).timestamp()
            except Exception:
                return (day + timedelta(days=1)).timestamp()
        return None

    # ------------------------------------------------------------ messages

    def _new(self, m: fix.Message, sid: fix.SessionID) -> None:
        f = fields(m)
        cl = f[T.CL_ORD_ID]
        resent = f.get(T.POSS_DUP) == "Y" or f.get(T.POSS_RESEND) == "Y"
        symbol = f[T.SYMBOL]
        fx = f.get(T.SECURITY_TYPE) == T.SECURITY_TYPE_FX
        mic = "" if fx else f.get(T.SECURITY_EXCHANGE) or "XNYS"  # FX trades round the clock
        qty = Decimal(f[T.ORDER_QTY])
        limit = Decimal(f[T.PRICE]) if T.PRICE in f else None
        stop = Decimal(f[T.STOP_PX]) if T.STOP_PX in f else None
        order_type = f[T.ORD_TYPE]
        tif = f.get(T.TIME_IN_FORCE)
        # A plain limit's price stands in for an unknown market; a stop's or an on-close limit does not.
        quoted = limit if order_type == "2" and tif != "7" else None
        ref = self.prices.get(symbol) or quoted or (Decimal(0) if fx else Decimal(100))
        o = SimOrder(
            cl_ord_id=cl,
            order_id=f"{self.prefix}-O{next(self.ids)}",
            sid=sid,
            symbol=symbol,
            mic=mic,
            side=f[T.SIDE],
            qty=qty,
            order_type=order_type,
            limit=limit,
            tif=tif or "0",
            ref_px=ref,
            fx=fx,
            stop=stop,
            expire_at=self._expiry(f, mic),
            strategy=f.get(T.TARGET_STRATEGY),
            strategy_params=f.get(T.TARGET_STRATEGY_PARAMETERS),
            rate=f.get(T.PARTICIPATION_RATE),
        )
        if cl in self.orders:
            if resent:
                self.note("possdup_ignored", cl_ord_id=cl)
                return
            o.status = "8"
            self.report(o, "8", text="duplicate ClOrdID", rej=6, sid=sid)
            self.note("duplicate_rejected", cl_ord_id=cl)
            return
        reason = None
        if qty <= 0:
            reason = (99, "order quantity must be positive")
        elif o.order_type == "2" and (limit is None or limit <= 0):
            reason = (99, "limit order without a positive limit price")
        elif (bad := problem(o)) is not None:
            reason = bad
        elif fx and (len(symbol) != 6 or f.get(T.CURRENCY) not in (None, symbol[:3])):
            reason = (99, f"FX spot {symbol}: Currency must be the dealt currency {symbol[:3]}")
        elif fx and ref <= 0:
            reason = (1, f"no FX quote for {symbol}")
        elif self.prices and symbol not in self.prices:
            reason = (1, f"unknown symbol {symbol}")
        elif self.cfg.reject_rate and self.rng.random() < self.cfg.reject_rate:
            reason = (0, "simulated broker reject (fault injection)")
        self.orders[cl] = o
        if reason is not None:
            o.status = "8"
            self.report(o, "8", text=reason[1], rej=reason[0], sid=sid)
            self.note("rejected", cl_ord_id=cl, text=reason[1])
            return
        self.note(
            "new",
            cl_ord_id=cl,
            qty=str(qty),
            symbol=symbol,
            limit=None if o.limit is None else str(o.limit),
            strategy=o.strategy,
            strategy_params=o.strategy_params,
        )
        if self.cfg.delay:
            self.delayed.append((time.monotonic() + self.cfg.delay, o))
        else:
            self.ack(o)

    def ack(self, o: SimOrder) -> None:
        o.status = "0"
        o.acked = True
        o.next_fill = time.monotonic() + self.cfg.fill_interval
        on_close = o.on_close
        if (o.tif == "0" and self.cfg.market_hours and not o.fx) or on_close:
            o.close_at = self.clockwork.next_close(o.mic)
        self.report(o, "0")
        if o.tif in ("3", "4"):
            self.clockwork.immediate(o)
        self.clockwork.started(o)

    def _find(self, cl: str | None) -> SimOrder | None:
        return self.orders.get(cl or "")

    def _cancel(self, m: fix.Message, sid: fix.SessionID) -> None:
        cl, orig = m.getField(T.CL_ORD_ID), m.getField(T.ORIG_CL_ORD_ID)
        o = self._find(orig)
        if o is None:
            self._cancel_reject(sid, cl, orig, "8", "1", 1, "unknown order", "NONE")
            return
        if self.cfg.race_cancel and o.live and o.leaves > 0:
            part = max((o.leaves / 2).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
            self.clockwork.fill(o, part)
        if not o.live:
            self._cancel_reject(sid, cl, orig, o.status, "1", 0, "too late to cancel", o.order_id)
            return
        if self.cfg.reject_cancels:
            self._cancel_reject(
                sid, cl, orig, o.status, "1", 99, "cancel refused (fault injection)", o.order_id
            )
            return
        o.status = "4"
        self.orders[cl] = o
        self.report(o, "4", cl=cl, orig=orig, sid=sid)
        self.note("canceled", cl_ord_id=o.cl_ord_id)

    def _replace(self, m: fix.Message, sid: fix.SessionID) -> None:
        cl, orig = m.getField(T.CL_ORD_ID), m.getField(T.ORIG_CL_ORD_ID)
        o = self._find(orig)
        if o is None:
            self._cancel_reject(sid, cl, orig, "8", "2", 1, "unknown order", "NONE")
            return
        qty = Decimal(m.getField(T.ORDER_QTY))
        if not o.live:
            self._cancel_reject(sid, cl, orig, o.status, "2", 0, "too late to replace", o.order_id)
            return
        if self.cfg.reject_cancels or qty <= o.cum:
            why = "replace refused (fault injection)" if self.cfg.reject_cancels else "quantity below filled"
            self._cancel_reject(sid, cl, orig, o.status, "2", 99, why, o.order_id)
            return
        o.qty = qty
        if m.isSetField(T.PRICE):
            o.limit = Decimal(m.getField(T.PRICE))
        if m.isSetField(T.STOP_PX):
            o.stop = Decimal(m.getField(T.STOP_PX))
        o.cl_ord_id = cl
        self.orders[cl] = o
        o.status = "1" if o.cum > 0 else "0"
        self.report(o, "5", cl=cl, orig=orig, sid=sid)
        self.note(
            "replaced", cl_ord_id=cl, orig=orig, qty=str(qty), limit=None if o.limit is None else str(o.limit)
        )

    def _status(self, m: fix.Message, sid: fix.SessionID) -> None:
        cl = m.getField(T.CL_ORD_ID)
        o = self._find(cl)
        if o is None:
            ghost = SimOrder(
                cl_ord_id=cl,
                order_id="NONE",
                sid=sid,
                symbol=m.getField(T.SYMBOL),
                mic="",
                side=m.getField(T.SIDE),
                qty=Decimal(0),
                order_type="1",
                limit=None,
                tif="0",
                ref_px=Decimal(0),
                status="8",
            )
            self.report(ghost, "I", text="unknown order", rej=5, sid=sid)
            self.note("status_unknown", cl_ord_id=cl)
            return
        self.report(o, "I", cl=cl, sid=sid)
        self.note("status", cl_ord_id=cl, status=o.status)
