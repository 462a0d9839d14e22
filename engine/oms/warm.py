"""The session's first route made as fast as the others: its one-time loads done before any Send.

The first route of a process paid for loads no later route pays for: its market's exchange
calendar (0.15-0.3 CPU s: exchange_calendars builds its sessions and minutes) for the open-market
check, and the market-data port's first answer for the arrival price (the SIMULATED tape reads
the book's prices: about 0.2 CPU s). `WarmUp` does them beforehand, one piece per call, on the
engine thread's idle steps (ui.oms_link), so a command never waits behind more than one piece.

Only the desk's markets are warmed (those of its recent orders, at most three; or the market with
the most securities), not every market: a calendar's minutes stay resident, about 40 MB each, and a
market no order goes to never needs them. A first order for another market pays its own calendar.

It only reads: the markets, securities and recent orders in the store, each market's open/closed
answer for the current minute (the same one `OmsContext.release_time` remembers for the route), and
one last print from the port. No order, event, audit entry or message is written or sent. A piece that fails is
logged and dropped: the route then loads it itself, and its controls are untouched.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from sqlalchemy import func, select

from engine.oms.context import OmsContext
from engine.oms.tables import Order
from engine.store.reference import Security

log = logging.getLogger(__name__)
RECENT_DAYS = 30
"""The desk's markets: those of its orders created in this many days."""
MAX_CALENDARS = 3
"""At most this many calendars warmed: each holds its minutes, about 40 MB resident (they stay)."""


class WarmUp:
    """The one-time loads of a first route, one piece per `step` (the desk's busiest market first)."""

    def __init__(self, ctx: OmsContext) -> None:
        self.ctx = ctx
        self._todo: deque[tuple[str, Callable[[], None]]] = deque([("the plan", self._plan)])
        self._busy = False
        self.warmed: list[str] = []
        """What was loaded so far, in order ("calendar XNYS", "market data AAPL")."""

    @property
    def done(self) -> bool:
        """Nothing is left to load (read from any thread: a piece being loaded is not done)."""
        return not self._todo and not self._busy

    def step(self) -> bool:
        """Load one piece; False when nothing was left. Never raises: a failure is logged."""
        if not self._todo:
            return False
        self._busy = True
        what, piece = self._todo.popleft()
        try:
            piece()
        except Exception:  # the route loads it itself (and fails closed there if it must)
            log.warning("warming up %s for the first route failed", what, exc_info=True)
        finally:
            self._busy = False
        return True

    def _plan(self) -> None:
        """The calendars of the markets the desk traded in the last RECENT_DAYS (most orders first,
        at most MAX_CALENDARS), else of the market with the most securities; the market data after
        the first (the arrival mark follows the send), asked for that market's first security."""
        ctx = self.ctx
        since = ctx.clock.now() - timedelta(days=RECENT_DAYS)
        with ctx.database.session() as s:
            traded = s.execute(
                select(Security.mic, func.count(Order.id))
                .join(Order, Order.security_id == Security.id)
                .where(Order.created_at >= since)
                .group_by(Security.mic)
            ).all()
            listed = s.execute(select(Security.mic, func.count()).group_by(Security.mic)).all()
            counts = dict(traded) or dict(listed)
            markets = ctx.markets.markets
            calendars: dict[str, str] = {}  # calendar -> the busiest market on it
            for mic in sorted((m for m in counts if m in markets), key=lambda m: (-counts[m], m)):
                calendars.setdefault(markets[mic].calendar, mic)
            mics = list(calendars.values())[: MAX_CALENDARS if traded else 1]
            symbol = (
                s.scalars(
                    select(Security.symbol).where(Security.mic == mics[0]).order_by(Security.id)
                ).first()
                if mics
                else None
            )
        for mic in mics:
            self._todo.append(
                (f"calendar {markets[mic].calendar}", partial(self._market, mic, markets[mic].calendar))
            )
        if symbol is not None:
            self._todo.insert(1, (f"market data {symbol}", partial(self._market_data, symbol)))

    def _market(self, mic: str, cal: str) -> None:
        """The calendar and its minutes, through the route's own remembered open/closed answer."""
        self.ctx.release_time(mic, self.ctx.clock.now())
        self.warmed.append(f"calendar {cal}")

    def _market_data(self, symbol: str) -> None:
        """The port's first answer (a price table, a connection) paid now, not at the arrival mark."""
        self.ctx.market_data.last(symbol, self.ctx.clock.now())
        self.warmed.append(f"market data {symbol}")
