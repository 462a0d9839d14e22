"""The order manager: creates orders, checks them, holds them for closed markets, blocks them,
routes them, works them (cancel/replace) and applies what brokers report.

`OrderManager` is the facade the desk, the CLI and the headless OMS call; the work is done by
its parts, one module each: engine.oms.commands (create, approve, cancel, replace),
engine.oms.blocks, engine.oms.router (route, releases, status requests), engine.oms.executions
(broker messages) and engine.oms.booking (allocation and booking of fills), over a shared
engine.oms.context. Every status change goes through the order state machine
(engine.oms.journal.ORDER_MACHINE), which appends its order_events row in the same transaction.

Its controls are required (engine.compose.build_order_manager wires the real ones): there is
no `None` that switches one off, and a control that fails refuses the action (ControlFailed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.events import EventBus
from engine.oms.blocks import Blocks
from engine.oms.booking import Booking
from engine.oms.commands import Commands
from engine.oms.context import Authorize, OmsContext
from engine.oms.controls import ApprovalCases, KillSwitchPort
from engine.oms.drafts import OrderDraft
from engine.oms.executions import EXEC_TYPE_INCOMING, Executions
from engine.oms.gateway import OrderGateway
from engine.oms.marks import NoMarketData, capture_intervals
from engine.oms.messages import Inbound, SessionState
from engine.oms.post_trade import PostTrade
from engine.oms.recheck import ReplaceRechecker
from engine.oms.router import Router, RouteResult
from engine.oms.tables import Order
from engine.ports import MarketDataPort, PreTradeChecker, TradeBooker
from engine.store.database import Database

__all__ = ["EXEC_TYPE_INCOMING", "OrderManager", "RouteResult"]


class OrderManager:
    """The OMS service. `checker` is compliance's pre-trade check, `recheck` its re-check of a
    loosened cancel/replace, `booker` accounting, `authorize(session, user, permission)` the
    permission gate (engine.access.guard.require), `kill_switch` which accounts may route and
    `cases` compliance's approval cases for flagged orders. `gateway` sends to brokers (None
    until the desk connects: messages then wait for the next logon)."""

    def __init__(
        self,
        database: Database,
        *,
        checker: PreTradeChecker,
        recheck: ReplaceRechecker,
        booker: TradeBooker,
        authorize: Authorize,
        kill_switch: KillSwitchPort,
        cases: ApprovalCases,
        clock: Clock,
        bus: EventBus,
        gateway: OrderGateway | None = None,
        username: str = "oms",
        market_data: MarketDataPort | None = None,
    ) -> None:
        self.ctx = OmsContext(
            database=database,
            checker=checker,
            recheck=recheck,
            booker=booker,
            authorize=authorize,
            kill_switch=kill_switch,
            cases=cases,
            clock=clock,
            bus=bus,
            username=username,
            gateway=gateway,
            market_data=market_data or NoMarketData(),
        )
        self.blocks = Blocks(self.ctx)
        self.commands = Commands(self.ctx, self.blocks)
        self.post_trade = PostTrade(self.ctx)
        self.booking = Booking(self.ctx, self.blocks, self.post_trade)
        self.router = Router(self.ctx, self.blocks, self.commands)
        self.executions = Executions(self.ctx, self.blocks, self.booking, self.router, self.post_trade)

    def with_checker(self, checker: PreTradeChecker) -> OrderManager:
        """The same OMS (store, gateway, bus, clock, every other control) with another pre-trade
        checker, e.g. a proposal's release gate (engine.release.proposals)."""
        c = self.ctx
        return OrderManager(
            c.database, checker=checker, recheck=c.recheck, booker=c.booker, authorize=c.authorize,
            kill_switch=c.kill_switch, cases=c.cases, clock=c.clock, bus=c.bus, gateway=c.gateway,
            username=c.username, market_data=c.market_data,
        )  # fmt: skip

    # ------------------------------------------------------------------ what callers read and set

    @property
    def database(self) -> Any:
        return self.ctx.database

    @property
    def gateway(self) -> OrderGateway | None:
        return self.ctx.gateway

    @gateway.setter
    def gateway(self, gateway: OrderGateway | None) -> None:
        self.ctx.gateway = gateway

    @property
    def bus(self) -> EventBus:
        return self.ctx.bus

    @bus.setter
    def bus(self, bus: EventBus) -> None:
        self.ctx.bus = bus

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @property
    def username(self) -> str:
        return self.ctx.username

    @property
    def checker(self) -> PreTradeChecker:
        return self.ctx.checker

    @property
    def recheck(self) -> ReplaceRechecker:
        return self.ctx.recheck

    @property
    def booker(self) -> TradeBooker:
        return self.ctx.booker

    @property
    def authorize(self) -> Authorize:
        return self.ctx.authorize

    @property
    def kill_switch(self) -> KillSwitchPort:
        return self.ctx.kill_switch

    @property
    def cases(self) -> ApprovalCases:
        return self.ctx.cases

    @property
    def sessions(self) -> dict[str, SessionState]:
        return self.ctx.sessions

    @property
    def duplicates(self) -> int:
        return self.ctx.duplicates

    @property
    def alerts(self) -> int:
        return self.ctx.alerts

    def _order(self, s: Session, order_id: int) -> Order:
        return self.ctx.order(s, order_id)

    # ------------------------------------------------------------------ commands

    def create(self, drafts: Sequence[OrderDraft], username: str | None = None) -> list[int]:
        """Create orders through compliance (engine.oms.commands.Commands.create)."""
        return self.commands.create(drafts, username)

    def approve(
        self,
        order_id: int,
        username: str | None = None,
        reason_code: str = "risk_accepted",
        comment: str = "",
    ) -> None:
        """Approve a flagged order through its approval case (Commands.approve)."""
        self.commands.approve(order_id, username, reason_code, comment)

    def cancel(self, order_id: int, username: str | None = None) -> None:
        """Cancel an order; unsent ones cancel locally (Commands.cancel)."""
        self.commands.cancel(order_id, username)

    def replace(
        self,
        order_id: int,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        username: str | None = None,
    ) -> str:
        """Cancel/replace a working order; looser terms are re-checked (Commands.replace)."""
        return self.commands.replace(order_id, quantity, limit_price, username)

    # ------------------------------------------------------------------ blocks and routing

    def build_blocks(self, order_ids: Sequence[int] | None = None, min_children: int = 2) -> list[int]:
        """Aggregate released account orders into blocks (engine.oms.blocks.Blocks.build)."""
        return self.blocks.build(order_ids, min_children)

    def route(
        self,
        order_ids: Sequence[int] | None = None,
        *,
        outside_hours: bool = False,
        username: str | None = None,
        broker: str | None = None,
    ) -> RouteResult:
        """Route released orders, holding those for closed markets (engine.oms.router.Router.route);
        a desk user's route needs orders.route; `broker` sends them to that session instead."""
        return self.router.route(order_ids, outside_hours=outside_hours, username=username, broker=broker)

    def release_due(self) -> list[int]:
        """Release approved orders and held ones whose market opened, and route them."""
        return self.router.release_due()

    def release_now(self, order_ids: Sequence[int], username: str | None = None) -> RouteResult:
        """The trader's release of held orders and held replaces (Router.release_now)."""
        return self.router.release_now(order_ids, username)

    def reconcile(self, broker: str) -> int:
        """Ask `broker` for the status of every order sent to it and not final."""
        return self.router.reconcile(broker)

    # ------------------------------------------------------------------ post-trade over FIX

    def resend_allocation(
        self, alloc_id: str, username: str, corrections: dict[str, str] | None = None
    ) -> str:
        """Re-send a rejected allocation instruction after correction (PostTrade.resend)."""
        return self.post_trade.resend(alloc_id, username, corrections)

    def post_trade_due(self) -> None:
        """Send allocation instructions waiting for a session; alert those never answered."""
        self.post_trade.send_pending()
        self.post_trade.overdue()

    def stamp_waiting(self) -> int:
        """Write the hand-off times a wave's route left for the next transaction (OmsContext.
        stamp_later) in one of their own: the periodic tick, when no wave came to write them."""
        n = sum(len(ids) for _, ids in self.ctx.unstamped)
        if n:
            with self.ctx.tx() as tx:
                self.ctx.stamp_waiting(tx)
        return n

    def capture_marks(self) -> int:
        """Take the fill interval, market prints and end price of final orders (engine.oms.marks)."""
        with self.ctx.database.transaction() as s:
            return capture_intervals(s, self.ctx.market_data, self.ctx.clock.now())

    # ------------------------------------------------------------------ broker messages

    def apply(self, message: Inbound) -> None:
        """Apply one broker message (engine.oms.executions.Executions.apply)."""
        self.executions.apply(message)

    def apply_batch(self, messages: Sequence[Inbound], progress: Mapping[str, int] | None = None) -> None:
        """Apply broker messages in one transaction, one savepoint each (Executions.apply_batch);
        `progress` (session -> last MsgSeqNum applied, engine.oms.progress) commits with them."""
        self.executions.apply_batch(messages, progress)
