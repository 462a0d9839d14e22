"""The session's first route made as fast as the others: its one-time loads done before any Send.

The first route of a process paid for loads no later route pays for: each market's exchange
calendar (about 0.3 CPU s: exchange_calendars builds its sessions and minutes) for the open-market
check, and the market-data port's first answer for the arrival price (the SIMULATED tape reads
the book's prices: about 0.2 CPU s). `WarmUp` does them beforehand, one piece per call, on the
engine thread's idle steps (ui.oms_link), so a command never waits behind more than one piece.

It only reads: the markets and securities in the store, each market's open/closed answer for the
current minute (the same one `OmsContext.release_time` remembers for the route), and one last print
from the port. No order, event, audit entry or message is written or sent. A piece that fails is
logged and dropped: the route then loads it itself, and its controls are untouched.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from functools import partial

from sqlalchemy import func, select

from engine.oms.context import OmsContext
from engine.store.reference import Security

log = logging.getLogger(__name__)


class WarmUp:
    """The one-time loads of a first route, one piece per `step` (markets with most securities first)."""

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
        """The markets by how many securities trade there, one per calendar, the market data after the
        first; one symbol to ask the port for."""
        ctx = self.ctx
        with ctx.database.session() as s:
            counts = dict(s.execute(select(Security.mic, func.count()).group_by(Security.mic)).all())
            symbol = s.scalars(select(Security.symbol).order_by(Security.id).limit(1)).first()
        markets = ctx.markets.markets
        calendars: dict[str, str] = {}
        for mic in sorted(markets, key=lambda m: (-counts.get(m, 0), m)):
            calendars.setdefault(markets[mic].calendar, mic)
        for cal, mic in calendars.items():
            self._todo.append((f"calendar {cal}", partial(self._market, mic, cal)))
        if symbol is not None:  # after the busiest market's calendar: the arrival mark follows the send
            self._todo.insert(
                min(1, len(self._todo)), (f"market data {symbol}", partial(self._market_data, symbol))
            )

    def _market(self, mic: str, cal: str) -> None:
        """The calendar and its minutes, through the route's own remembered open/closed answer."""
        self.ctx.release_time(mic, self.ctx.clock.now())
        self.warmed.append(f"calendar {cal}")

    def _market_data(self, symbol: str) -> None:
        """The port's first answer (a price table, a connection) paid now, not at the arrival mark."""
        self.ctx.market_data.last(symbol, self.ctx.clock.now())
        self.warmed.append(f"market data {symbol}")
