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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import quickfix as fix

from connectors.broker_sim.allocations import SimAllocations
from connectors.broker_sim.faults import SimSettings
from connectors.broker_sim.tape import SimulatedTape
from connectors.fix import tags as T
from connectors.fix.dialect import EXEC_TRANS_TYPE, exec_type_42, is_42
from connectors.fix.translate import parse_timestamp, utc_timestamp
from connectors.fix.versions import FixVersion, of_session
from engine.markets.clock import MarketClock

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
FX_PIP = Decimal("0.00001")  # FX rates are quoted to 5 decimals (3 against JPY)
FX_PIP_JPY = Decimal("0.001")


@dataclass
class SimOrder:
    cl_ord_id: str
    order_id: str
    sid: fix.SessionID
    symbol: str
    mic: str
    side: str
    qty: Decimal
    order_type: str
    limit: Decimal | None
    tif: str
    ref_px: Decimal
    cum: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: str = "A"
    acked: bool = False
    fills: int = 0
    next_fill: float = 0.0
    close_at: float | None = None  # sim epoch seconds at which a day order expires
    stop: Decimal | None = None  # StopPx of a stop or stop-limit order
    triggered: bool = False  # a stop order whose StopPx the simulated price crossed
    expire_at: float | None = None  # sim epoch seconds at which a GTD order expires
    strategy: str | None = None  # TargetStrategy (847): 1 VWAP, 2 participate (POV), 3 minimise impact
    strategy_params: str | None = None  # TargetStrategyParameters (848)
    rate: str | None = None  # ParticipationRate (849)
    fx: bool = False  # an FX spot order: SecurityType FOR

    @property
    def leaves(self) -> Decimal:
        return self.qty - self.cum if self.status not in ("2", "4", "8", "C") else Decimal(0)

    @property
    def avg(self) -> Decimal:
        return (self.notional / self.cum).quantize(Decimal("0.000001")) if self.cum else Decimal(0)

    @property
    def live(self) -> bool:
        return self.status in ("A", "0", "1")


def _get(m: fix.Message, tag: int) -> str | None:
    return m.getField(tag) if m.isSetField(tag) else None


def version_of(sid: fix.SessionID) -> FixVersion:
    """The FIX version a client session speaks (FIXT.1.1: 5.0 SP2)."""
    return of_session(sid.getBeginString().getValue())


def _rate_ok(text: str | None) -> bool:
    """A ParticipationRate above 0 and at most 1."""
    try:
        return text is not None and 0 < Decimal(text) <= 1
    except ArithmeticError:
        return False


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
        self.worker = threading.Thread(target=self._run, name="broker-sim", daemon=True)
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

    def _note(self, event: str, **data: Any) -> None:
        if self.journal is not None:
            self.journal.write(json.dumps({"event": event, **data}, default=str) + "\n")
            self.journal.flush()

    def _send(self, m: fix.Message, sid: fix.SessionID) -> None:
        fix.Session.sendToTarget(m, sid)
        self.sent_app += 1
        if self.cfg.drop_after and not self.dropped and self.sent_app >= self.cfg.drop_after:
            self.drop_due = True
        is_report = m.getHeader().getField(T.MSG_TYPE) == "8"
        if self.cfg.duplicate_rate and is_report and self.rng.random() < self.cfg.duplicate_rate:
            dup = fix.Message(m)
            dup.getHeader().setField(T.POSS_RESEND, "Y")
            fix.Session.sendToTarget(dup, sid)
            self._note("duplicate_sent", exec_id=m.getField(T.EXEC_ID))

    def _exec_id(self) -> str:
        return f"{self.prefix}-{next(self.ids)}"

    def _report(
        self,
        o: SimOrder,
        exec_type: str,
        *,
        cl: str | None = None,
        orig: str | None = None,
        last_qty: Decimal = Decimal(0),
        last_px: Decimal = Decimal(0),
        text: str | None = None,
        rej: int | None = None,
    ) -> fix.Message:
        m = fix.Message()
        m.getHeader().setField(T.MSG_TYPE, "8")
        m.setField(T.ORDER_ID, o.order_id)
        m.setField(T.CL_ORD_ID, cl or o.cl_ord_id)
        if orig:
            m.setField(T.ORIG_CL_ORD_ID, orig)
        m.setField(T.EXEC_ID, self._exec_id())
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
            m.setField(T.LAST_QTY, str(last_qty))
            m.setField(T.LAST_PX, str(last_px))
        m.setField(T.LEAVES_QTY, str(o.leaves))
        m.setField(T.CUM_QTY, str(o.cum))
        m.setField(T.AVG_PX, str(o.avg))
        m.setField(T.TRANSACT_TIME, utc_timestamp(self.markets.clock.now()))
        if text:
            m.setField(T.TEXT, text)
        if is_42(version_of(o.sid)):  # fills are ExecType 1/2, a status reply ExecTransType 3
            et, tt = exec_type_42(exec_type, o.status)
            m.setField(T.EXEC_TYPE, et)
            m.setField(EXEC_TRANS_TYPE, tt)
        return m

    def _cancel_reject(
        self, sid: fix.SessionID, cl: str, orig: str, status: str, to: str, reason: int, text: str, oid: str
    ) -> None:
        m = fix.Message()
        m.getHeader().setField(T.MSG_TYPE, "9")
        m.setField(T.ORDER_ID, oid)
        m.setField(T.CL_ORD_ID, cl)
        m.setField(T.ORIG_CL_ORD_ID, orig)
        m.setField(T.ORD_STATUS, status)
        m.setField(T.CXL_REJ_RESPONSE_TO, to)
        m.setField(T.CXL_REJ_REASON, str(reason))
        m.setField(T.TEXT, text)
        self._send(m, sid)
        self._note("cancel_reject", cl_ord_id=orig, text=text)

    def _is_open(self, mic: str) -> bool:
        if not self.cfg.market_hours or mic == "":
            return True
        try:
            return self.markets.is_open(mic)
        except Exception:
            return True

    def _tick_size(self, o: SimOrder) -> Decimal:
        return CENT if not o.fx else FX_PIP_JPY if o.symbol.endswith("JPY") else FX_PIP

    def _market(self, o: SimOrder) -> Decimal:
        """The simulated price now: the tape's print of the moment around the order's reference."""
        return self.tape.price(o.symbol, self.markets.clock.now(), o.ref_px).quantize(self._tick_size(o))

    def _price(self, o: SimOrder) -> Decimal:
        px = self._market(o)
        if o.limit is not None:
            px = min(px, o.limit) if o.side == "1" else max(px, o.limit)
        return px

    def _close_price(self, o: SimOrder) -> Decimal:
        """The simulated closing price: the reference price."""
        return o.ref_px.quantize(self._tick_size(o))

    def _problem(self, o: SimOrder) -> tuple[int, str] | None:
        """Order terms the simulator refuses (OrdRejReason 99 with a Text)."""
        if o.order_type in ("2", "4", "B") and (o.limit is None or o.limit <= 0):
            return (99, f"OrdType {o.order_type} needs a positive Price (44)")
        if o.order_type in ("3", "4") and (o.stop is None or o.stop <= 0):
            return (99, f"OrdType {o.order_type} needs a positive StopPx (99)")
        if o.order_type in ("5", "B") and (o.fx or o.tif != "0"):
            return (99, "an on-close order is a day order on an exchange")
        if o.strategy is not None and o.strategy not in ("1", "2", "3"):
            return (99, f"unknown TargetStrategy {o.strategy}")
        if o.strategy == "2" and not _rate_ok(o.rate):
            return (99, f"participation (TargetStrategy 2) needs a ParticipationRate (849), not {o.rate!r}")
        if o.tif == "6" and o.expire_at is None:
            return (99, "a GTD order needs ExpireTime (126) or ExpireDate (432)")
        if o.order_type not in ("1", "2", "3", "4", "5", "B") or o.tif not in (
            "0",
            "1",
            "2",
            "3",
            "4",
            "6",
            "7",
        ):
            return (99, f"unsupported OrdType {o.order_type} or TimeInForce {o.tif}")
        return None

    def _expiry(self, m: fix.Message, mic: str) -> float | None:
        """ExpireTime (126), else the close of ExpireDate (432) at the order's exchange, in epoch seconds."""
        if m.isSetField(T.EXPIRE_TIME):
            at = parse_timestamp(m.getField(T.EXPIRE_TIME))
            return None if at is None else at.timestamp()
        if m.isSetField(T.EXPIRE_DATE):
            day = datetime.strptime(m.getField(T.EXPIRE_DATE), "%Y%m%d").replace(tzinfo=UTC)
            try:
                return self.markets.next_close(mic or "XNYS", day).timestamp()
            except Exception:
                return (day + timedelta(days=1)).timestamp()
        return None

    # ------------------------------------------------------------ messages

    def _new(self, m: fix.Message, sid: fix.SessionID) -> None:
        cl = m.getField(T.CL_ORD_ID)
        header = m.getHeader()
        resent = any(header.isSetField(t) and header.getField(t) == "Y" for t in (T.POSS_DUP, T.POSS_RESEND))
        symbol = m.getField(T.SYMBOL)
        fx = _get(m, T.SECURITY_TYPE) == T.SECURITY_TYPE_FX
        mic = "" if fx else _get(m, T.SECURITY_EXCHANGE) or "XNYS"  # FX trades round the clock
        qty = Decimal(m.getField(T.ORDER_QTY))
        limit = Decimal(m.getField(T.PRICE)) if m.isSetField(T.PRICE) else None
        stop = Decimal(m.getField(T.STOP_PX)) if m.isSetField(T.STOP_PX) else None
        order_type = m.getField(T.ORD_TYPE)
        # A plain limit's price stands in for an unknown market; a stop's or an on-close limit does not.
        quoted = limit if order_type == "2" and _get(m, T.TIME_IN_FORCE) != "7" else None
        ref = self.prices.get(symbol) or quoted or (Decimal(0) if fx else Decimal(100))
        o = SimOrder(
            cl_ord_id=cl,
            order_id=f"{self.prefix}-O{next(self.ids)}",
            sid=sid,
            symbol=symbol,
            mic=mic,
            side=m.getField(T.SIDE),
            qty=qty,
            order_type=order_type,
            limit=limit,
            tif=_get(m, T.TIME_IN_FORCE) or "0",
            ref_px=ref,
            fx=fx,
            stop=stop,
            expire_at=self._expiry(m, mic),
            strategy=_get(m, T.TARGET_STRATEGY),
            strategy_params=_get(m, T.TARGET_STRATEGY_PARAMETERS),
            rate=_get(m, T.PARTICIPATION_RATE),
        )
        if cl in self.orders:
            if resent:
                self._note("possdup_ignored", cl_ord_id=cl)
                return
            o.status = "8"
            self._send(self._report(o, "8", text="duplicate ClOrdID", rej=6), sid)
            self._note("duplicate_rejected", cl_ord_id=cl)
            return
        reason = None
        if qty <= 0:
            reason = (99, "order quantity must be positive")
        elif o.order_type == "2" and (limit is None or limit <= 0):
            reason = (99, "limit order without a positive limit price")
        elif (bad := self._problem(o)) is not None:
            reason = bad
        elif fx and (len(symbol) != 6 or _get(m, T.CURRENCY) not in (None, symbol[:3])):
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
            self._send(self._report(o, "8", text=reason[1], rej=reason[0]), sid)
            self._note("rejected", cl_ord_id=cl, text=reason[1])
            return
        self._note(
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
            self._ack(o)

    def _ack(self, o: SimOrder) -> None:
        o.status = "0"
        o.acked = True
        o.next_fill = time.monotonic() + self.cfg.fill_interval
        on_close = self._on_close(o)
        if (o.tif == "0" and self.cfg.market_hours and not o.fx) or on_close:
            try:
                o.close_at = self.markets.next_close(o.mic).timestamp()
            except Exception:
                o.close_at = None
        self._send(self._report(o, "0"), o.sid)
        if o.tif in ("3", "4"):
            self._immediate(o)

    def _immediate(self, o: SimOrder) -> None:
        """IOC: fill one part now and cancel the rest; FOK: fill all now or cancel it all.

        What the book offers at once is one part of --fill-parts (none when it is 0, the market is
        closed or a stop has not triggered)."""
        able = self.cfg.fill_parts > 0 and self._is_open(o.mic) and o.order_type in ("1", "2")
        part = Decimal(0)
        if able:
            part = max((o.qty / self.cfg.fill_parts).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
            part = min(part, o.qty)
        if o.tif == "4" and part < o.qty:
            part = Decimal(0)
        if part > 0:
            self._fill(o, part)
        if o.live:
            o.status = "4"
            why = "IOC: rest cancelled" if o.tif == "3" else "FOK: not fillable in full at once"
            self._send(self._report(o, "4", text=why), o.sid)
            self._note("ioc_fok_canceled", cl_ord_id=o.cl_ord_id, cum=str(o.cum), tif=o.tif)

    def _find(self, cl: str | None) -> SimOrder | None:
        return self.orders.get(cl or "")

    def _fill(self, o: SimOrder, qty: Decimal, at: Decimal | None = None) -> None:
        px = self._price(o) if at is None else at
        o.cum += qty
        o.notional += qty * px
        o.fills += 1
        o.status = "2" if o.cum >= o.qty else "1"
        self._send(self._report(o, "F", last_qty=qty, last_px=px), o.sid)
        self._note("fill", cl_ord_id=o.cl_ord_id, qty=str(qty), px=str(px))

    def _cancel(self, m: fix.Message, sid: fix.SessionID) -> None:
        cl, orig = m.getField(T.CL_ORD_ID), m.getField(T.ORIG_CL_ORD_ID)
        o = self._find(orig)
        if o is None:
            self._cancel_reject(sid, cl, orig, "8", "1", 1, "unknown order", "NONE")
            return
        if self.cfg.race_cancel and o.live and o.leaves > 0:
            part = max((o.leaves / 2).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
            self._fill(o, part)
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
        self._send(self._report(o, "4", cl=cl, orig=orig), sid)
        self._note("canceled", cl_ord_id=o.cl_ord_id)

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
        self._send(self._report(o, "5", cl=cl, orig=orig), sid)
        self._note(
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
            self._send(self._report(ghost, "I", text="unknown order", rej=5), sid)
            self._note("status_unknown", cl_ord_id=cl)
            return
        self._send(self._report(o, "I", cl=cl), sid)
        self._note("status", cl_ord_id=cl, status=o.status)

    # ------------------------------------------------------------ time

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            try:
                self._tick()
            except Exception:
                log.exception("sim: tick failed")

    def _tick(self) -> None:
        now = time.monotonic()
        with self.lock:
            if self.drop_due and not self.dropped:
                self.dropped = True
                self.drop_due = False
                for o in list(self.orders.values())[:1]:
                    session = fix.Session.lookupSession(o.sid)
                    if session is not None:
                        self._note("drop_connection", after=self.sent_app)
                        session.disconnect()
            due = [d for d in self.delayed if d[0] <= now]
            self.delayed = [d for d in self.delayed if d[0] > now]
            for _, o in due:
                if o.status == "A":
                    self._ack(o)
            sim_now = self.markets.clock.now().timestamp()
            for o in {id(x): x for x in self.orders.values()}.values():
                if not o.live or not o.acked:
                    continue
                if self._on_close(o):
                    if o.close_at is not None and sim_now >= o.close_at:
                        self._at_close(o)
                    continue
                if o.close_at is not None and sim_now >= o.close_at:
                    self._expire(o, "day order expired at the close")
                    continue
                if o.expire_at is not None and sim_now >= o.expire_at:
                    self._expire(o, "GTD order expired")
                    continue
                if self.cfg.fill_parts <= 0 or now < o.next_fill or not self._is_open(o.mic):
                    continue
                at = None
                if o.stop is not None and not o.triggered:
                    at = self._trigger(o)
                    if at is None:
                        continue
                part = max((o.qty / self.cfg.fill_parts).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
                left = o.qty - o.cum
                qty = left if o.fills + 1 >= self.cfg.fill_parts else min(part, left)
                self._fill(o, qty, at)
                o.next_fill = now + self.cfg.fill_interval
                if (
                    o.live
                    and self.cfg.unsolicited_cancel_rate
                    and self.rng.random() < self.cfg.unsolicited_cancel_rate
                ):
                    o.status = "4"
                    self._send(self._report(o, "4", text="unsolicited cancel (fault injection)"), o.sid)
                    self._note("unsolicited_cancel", cl_ord_id=o.cl_ord_id)

    @staticmethod
    def _on_close(o: SimOrder) -> bool:
        """At the close: TimeInForce 7 (FIX 4.4), or OrdType 5 / B (before FIX 4.4)."""
        return o.tif == "7" or o.order_type in ("5", "B")

    def _expire(self, o: SimOrder, why: str) -> None:
        o.status = "C"
        self._send(self._report(o, "C", text=why), o.sid)
        self._note("expired", cl_ord_id=o.cl_ord_id, text=why)

    def _trigger(self, o: SimOrder) -> Decimal | None:
        """The price that crossed the stop (a buy's at or above it, a sell's at or below), else None.
        The first fill is at that price (within a stop-limit's limit); later fills at the market."""
        px = self._market(o)
        assert o.stop is not None
        if not ((o.side == "1" and px >= o.stop) or (o.side == "2" and px <= o.stop)):
            return None
        o.triggered = True
        self._note("triggered", cl_ord_id=o.cl_ord_id, px=str(px), stop=str(o.stop))
        if o.limit is not None:
            px = min(px, o.limit) if o.side == "1" else max(px, o.limit)
        return px

    def _at_close(self, o: SimOrder) -> None:
        """MOC fills in full at the simulated close; LOC too if the close is within its limit, else expires."""
        px = self._close_price(o)
        beyond = o.limit is not None and (
            (o.side == "1" and px > o.limit) or (o.side == "2" and px < o.limit)
        )
        if o.limit is not None and beyond:
            self._expire(o, f"limit-on-close {o.limit} not reached by the close {px}")
            return
        qty = o.qty - o.cum
        o.cum += qty
        o.notional += qty * px
        o.fills += 1
        o.status = "2"
        self._send(self._report(o, "F", last_qty=qty, last_px=px), o.sid)
        self._note("fill", cl_ord_id=o.cl_ord_id, qty=str(qty), px=str(px), at="close")
