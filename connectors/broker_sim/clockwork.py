"""What the SIMULATED broker does as time passes: a worker thread fills working orders (parts of
--fill-parts, one every --fill-interval), triggers stops, fills or expires at-the-close orders at the
close, expires day orders at the close and GTD orders at their time, acknowledges delayed orders,
and drops the connection once when asked (fault injection).

The worker sleeps until woken: an acknowledged order wakes it at once (an order filled in one part
with --fill-interval 0 is filled right after its ack, not at the next poll), and it looks again every
POLL seconds for what only the clock brings (expiries, the next part, the open). Each look visits the
working orders only, never every order the simulator has seen.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

import quickfix as fix

from connectors.broker_sim.orders import SimOrder
from connectors.broker_sim.reports import Fill

if TYPE_CHECKING:
    from connectors.broker_sim.application import BrokerSimulator

log = logging.getLogger("connectors.broker_sim.application")
POLL = 0.02
"""Seconds between looks when nothing wakes the worker."""


class Clockwork:
    """The simulator's time-driven side; its state is the simulator's, guarded by its lock."""

    def __init__(self, sim: BrokerSimulator) -> None:
        self.sim = sim
        self.working: dict[str, SimOrder] = {}  # BrokerOrderID -> an acknowledged order still live
        self.wake = threading.Event()
        self._open: dict[tuple[str, int], bool] = {}  # (MIC, sim minute) -> open
        self._close: dict[tuple[str, int], float | None] = {}  # (MIC, sim minute) -> next close

    def run(self) -> None:
        sim = self.sim
        while not sim.stop.is_set():
            self.wake.wait(POLL)
            self.wake.clear()  # before the look: a wake during it makes one more look, never none
            try:
                self.tick()
            except Exception:
                log.exception("sim: tick failed")

    def started(self, o: SimOrder) -> None:
        """An acknowledged order works from now on: look at it at once. With --fill-interval 0 its
        first part is due now, so this thread (the ack's, under the lock) fills it right after the
        ack instead of handing it to the worker (a thread switch and a look at every working order);
        the worker does the rest."""
        sim = self.sim
        if sim.cfg.fill_interval <= 0 and not self.step(
            o, time.monotonic(), sim.markets.clock.now().timestamp()
        ):
            return
        self.working[o.order_id] = o
        self.wake.set()

    def is_open(self, mic: str) -> bool:
        sim = self.sim
        if not sim.cfg.market_hours or mic == "":
            return True
        minute = int(sim.markets.clock.now().timestamp() // 60)  # the calendar's resolution
        key = (mic, minute)
        if key not in self._open:
            if len(self._open) > 1000:
                self._open.clear()
            try:
                self._open[key] = sim.markets.is_open(mic)
            except Exception:
                self._open[key] = True
        return self._open[key]

    def next_close(self, mic: str) -> float | None:
        """The close of the session now (or the next one) at `mic`, in sim epoch seconds."""
        sim = self.sim
        key = (mic, int(sim.markets.clock.now().timestamp() // 60))
        if key not in self._close:
            if len(self._close) > 1000:
                self._close.clear()
            try:
                self._close[key] = sim.markets.next_close(mic).timestamp()
            except Exception:
                self._close[key] = None
        return self._close[key]

    def price(self, o: SimOrder) -> Decimal:
        """The simulated price now: the tape's print of the moment around the order's reference."""
        sim = self.sim
        return sim.tape.price(o.symbol, sim.markets.clock.now(), o.ref_px).quantize(o.tick_size)

    def fill_price(self, o: SimOrder) -> Decimal:
        px = self.price(o)
        if o.limit is not None:
            px = min(px, o.limit) if o.side == "1" else max(px, o.limit)
        return px

    def fill(self, o: SimOrder, qty: Decimal, at: Decimal | None = None) -> None:
        px = self.fill_price(o) if at is None else at
        o.cum += qty
        o.notional += qty * px
        o.fills += 1
        o.status = "2" if o.cum >= o.qty else "1"
        self.sim.report(o, "F", fill=Fill(qty, px))
        self.sim.note("fill", cl_ord_id=o.cl_ord_id, qty=str(qty), px=str(px))

    def immediate(self, o: SimOrder) -> None:
        """IOC: fill one part now and cancel the rest; FOK: fill all now or cancel it all.

        What the book offers at once is one part of --fill-parts (none when it is 0, the market is
        closed or a stop has not triggered)."""
        cfg = self.sim.cfg
        able = cfg.fill_parts > 0 and self.is_open(o.mic) and o.order_type in ("1", "2")
        part = Decimal(0)
        if able:
            part = max((o.qty / cfg.fill_parts).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
            part = min(part, o.qty)
        if o.tif == "4" and part < o.qty:
            part = Decimal(0)
        if part > 0:
            self.fill(o, part)
        if o.live:
            o.status = "4"
            why = "IOC: rest cancelled" if o.tif == "3" else "FOK: not fillable in full at once"
            self.sim.report(o, "4", text=why)
            self.sim.note("ioc_fok_canceled", cl_ord_id=o.cl_ord_id, cum=str(o.cum), tif=o.tif)

    def tick(self) -> None:
        sim = self.sim
        now = time.monotonic()
        with sim.lock:
            if sim.drop_due and not sim.dropped:
                self._drop()
            due = [d for d in sim.delayed if d[0] <= now]
            sim.delayed = [d for d in sim.delayed if d[0] > now]
            for _, o in due:
                if o.status == "A":
                    sim.ack(o)
            sim_now = sim.markets.clock.now().timestamp()
            for key, o in list(self.working.items()):
                if not self.step(o, now, sim_now):
                    del self.working[key]

    def step(self, o: SimOrder, now: float, sim_now: float) -> bool:
        """One look at a working order at `now` (monotonic) and `sim_now` (sim epoch seconds): expire
        it, trigger its stop, or fill its next part when due. False once it no longer works."""
        sim = self.sim
        cfg = sim.cfg
        if not o.live:
            return False
        if o.on_close:
            if o.close_at is not None and sim_now >= o.close_at:
                self._at_close(o)
            return True
        if o.close_at is not None and sim_now >= o.close_at:
            self._expire(o, "day order expired at the close")
            return True
        if o.expire_at is not None and sim_now >= o.expire_at:
            self._expire(o, "GTD order expired")
            return True
        if cfg.fill_parts <= 0 or now < o.next_fill or not self.is_open(o.mic):
            return True
        at = None
        if o.stop is not None and not o.triggered:
            at = self._trigger(o)
            if at is None:
                return True
        part = max((o.qty / cfg.fill_parts).to_integral_value(rounding=ROUND_FLOOR), Decimal(1))
        left = o.qty - o.cum
        qty = left if o.fills + 1 >= cfg.fill_parts else min(part, left)
        self.fill(o, qty, at)
        o.next_fill = now + cfg.fill_interval
        if o.live and cfg.unsolicited_cancel_rate and sim.rng.random() < cfg.unsolicited_cancel_rate:
            o.status = "4"
            sim.report(o, "4", text="unsolicited cancel (fault injection)")
            sim.note("unsolicited_cancel", cl_ord_id=o.cl_ord_id)
        return o.live

    def _drop(self) -> None:
        sim = self.sim
        sim.dropped = True
        sim.drop_due = False
        for o in list(sim.orders.values())[:1]:
            session = fix.Session.lookupSession(o.sid)
            if session is not None:
                sim.note("drop_connection", after=sim.sent_app)
                session.disconnect()

    def _expire(self, o: SimOrder, why: str) -> None:
        o.status = "C"
        self.sim.report(o, "C", text=why)
        self.sim.note("expired", cl_ord_id=o.cl_ord_id, text=why)

    def _trigger(self, o: SimOrder) -> Decimal | None:
        """The price that crossed the stop (a buy's at or above it, a sell's at or below), else None.
        The first fill is at that price (within a stop-limit's limit); later fills at the market."""
        px = self.price(o)
        assert o.stop is not None
        if not ((o.side == "1" and px >= o.stop) or (o.side == "2" and px <= o.stop)):
            return None
        o.triggered = True
        self.sim.note("triggered", cl_ord_id=o.cl_ord_id, px=str(px), stop=str(o.stop))
        if o.limit is not None:
            px = min(px, o.limit) if o.side == "1" else max(px, o.limit)
        return px

    def _at_close(self, o: SimOrder) -> None:
        """MOC fills in full at the simulated close; LOC too if the close is within its limit, else expires."""
        px = o.ref_px.quantize(o.tick_size)  # the simulated closing price: the reference price
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
        self.sim.report(o, "F", fill=Fill(qty, px))
        self.sim.note("fill", cl_ord_id=o.cl_ord_id, qty=str(qty), px=str(px), at="close")
