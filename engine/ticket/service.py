"""The ticket as the engine sees it: a request becomes one order draft per account (sized, in board
lots), checked by compliance before Send (nothing stored), then created through the OMS.

`plan` reads the book (prices, FX, account values) in one session; `check` runs the real
compliance checker without persisting (the OMS's create checks again and stores that run);
`drafts` are what `OrderManager.create` takes. The desktop calls these from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.compliance.checker import ComplianceChecker
from engine.errors import NotFound, WorkstationError
from engine.markets.clock import MarketClock
from engine.oms.drafts import SIDES, OrderDraft
from engine.oms.order_terms import term_problems
from engine.oms.strategies import strategy_problems
from engine.ports import OrderIntent
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices, latest_price_date
from engine.pricing.valuation import value_cash, value_lots
from engine.store.meta import BookMeta
from engine.ticket.accounts import TicketAccount, accounts_for
from engine.ticket.lookup import Listing, find_security
from engine.ticket.sizing import Size, shares_for

PREVIEW_REF = "ticket:"
"""The preview's order references: never an order's ClOrdID or id (which the duplicate and daily
limits would leave out of the live orders they count), so the preview counts what Send counts."""


class TicketError(WorkstationError):
    """What is wrong with a ticket: every (field, reason) at once, nothing created."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{f}: {r}" for f, r in self.problems))


@dataclass(frozen=True)
class TicketRequest:
    """What the trader filled in (strings for codes, Decimals for amounts, UTC for the expiry)."""

    scope: str
    keys: tuple[str, ...]
    security: str
    side: str
    size: Size
    order_type: str = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = "day"
    expire_at: datetime | None = None
    broker: str | None = None
    strategy: str | None = None
    strategy_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TicketLine:
    """One account's order: its quantity, what it is worth, and (after `check`) compliance's verdict."""

    account: str
    base_currency: str
    quantity: Decimal
    account_value: Decimal | None
    notional: Decimal
    """quantity x price x multiplier, in the security's currency."""
    note: str = ""
    outcome: str | None = None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketPlan:
    """A ticket's orders before they are sent; `lines` with quantity 0 are left out of `drafts`."""

    request: TicketRequest
    listing: Listing
    price: Decimal
    price_date: date
    as_of: date
    fx_note: str
    lines: list[TicketLine] = field(default_factory=list)

    @property
    def orders(self) -> list[TicketLine]:
        return [ln for ln in self.lines if ln.quantity > 0]

    @property
    def blocked(self) -> list[TicketLine]:
        return [ln for ln in self.orders if ln.outcome == "block"]

    @property
    def checked(self) -> bool:
        return bool(self.orders) and all(ln.outcome is not None for ln in self.orders)

    def drafts(self) -> list[OrderDraft]:
        r = self.request
        return [
            OrderDraft(
                account=ln.account,
                symbol=self.listing.symbol,
                side=r.side,
                quantity=ln.quantity,
                order_type=r.order_type,
                limit_price=r.limit_price,
                time_in_force=r.time_in_force,
                broker=r.broker,
                stop_price=r.stop_price,
                expire_at=r.expire_at,
                strategy=r.strategy,
                strategy_params=r.strategy_params,
            )
            for ln in self.orders
        ]


def book_date(session: Session, clock: Clock) -> date:
    """The date the book is valued on: its recorded as-of date, else its last close (not after today)."""
    meta = session.get(BookMeta, "as_of")
    if meta is not None:
        return date.fromisoformat(meta.value)
    last = latest_price_date(session)
    today = clock.now().date()
    return min(last, today) if last is not None else today


def plan(session: Session, request: TicketRequest, clock: Clock) -> TicketPlan:
    """Resolve the ticket and size each account's order; TicketError lists every problem."""
    r = request
    bad: list[tuple[str, str]] = []
    if r.side not in SIDES:
        bad.append(("side", "side must be buy or sell"))
    bad += r.size.problems()
    listing: Listing | None = None
    accounts: list[TicketAccount] = []
    try:
        listing = find_security(session, r.security)
    except NotFound as exc:
        bad.append(("security", str(exc).removeprefix("security: ")))
    try:
        accounts = accounts_for(session, r.scope, r.keys)
    except WorkstationError as exc:
        bad.append(("accounts", str(exc).removeprefix("accounts: ")))
    if listing is not None:
        markets = MarketClock.from_store(session, clock)
        bad += term_problems(
            r.order_type, r.time_in_force, r.limit_price, r.stop_price, r.expire_at,
            mic=listing.mic, markets=markets, now=clock.now(),
        )  # fmt: skip
    bad += strategy_problems(r.broker, r.strategy, dict(r.strategy_params), r.order_type, r.time_in_force)
    if bad or listing is None:
        raise TicketError(bad)
    as_of = book_date(session, clock)
    prices = last_prices(session, as_of)
    if listing.security_id not in prices.index:
        raise TicketError([("security", f"{listing.symbol} has no price on or before {as_of}")])
    row = prices.loc[listing.security_id]
    price = Decimal(repr(float(row["close"])))
    fx = FxTable.load(session, end=as_of)
    values = _account_values(session, accounts, as_of, fx) if r.size.kind == "percent" else {}
    lines: list[TicketLine] = []
    notes: list[str] = []
    try:
        for a in accounts:
            money_ccy = a.base_currency if r.size.kind == "percent" else (r.size.currency or listing.currency)
            rate = (
                Decimal(1) if money_ccy == listing.currency else fx.rate(money_ccy, listing.currency, as_of)
            )
            if r.size.kind != "quantity" and money_ccy != listing.currency:
                note = f"{money_ccy}{listing.currency} {rate.normalize():f}"
                if note not in notes:
                    notes.append(note)
            qty = shares_for(
                r.size, price=price, multiplier=listing.multiplier, lot_size=listing.lot_size,
                account_value=values.get(a.code), fx_to_security=rate,
            )  # fmt: skip
            why = "" if qty > 0 else f"less than one board lot of {listing.lot_size}"
            lines.append(
                TicketLine(
                    a.code,
                    a.base_currency,
                    qty,
                    values.get(a.code),
                    (qty * price * listing.multiplier).quantize(Decimal("0.01")),
                    why,
                )
            )
    except NotFound as exc:
        raise TicketError([("size", str(exc))]) from exc
    return TicketPlan(r, listing, price, row["date"], as_of, ", ".join(notes), lines)


def _account_values(
    session: Session, accounts: Sequence[TicketAccount], as_of: date, fx: FxTable
) -> dict[str, Decimal]:
    """Each account's value in its base currency (lots plus all cash), rounded to the cent."""
    ids = [a.id for a in accounts]
    lots = value_lots(session, as_of, fx, ids)
    cash = value_cash(session, as_of, fx)
    by_id: dict[int, float] = {i: 0.0 for i in ids}
    for aid, v in lots.groupby("account_id")["mv_base"].sum().items():
        if int(aid) in by_id:
            by_id[int(aid)] += float(v)
    for aid, v in cash.groupby("account_id")["value_base"].sum().items():
        if int(aid) in by_id:
            by_id[int(aid)] += float(v)
    return {a.code: Decimal(repr(round(by_id[a.id], 2))) for a in accounts}


def check(session: Session, ticket: TicketPlan, username: str, clock: Clock) -> TicketPlan:
    """Compliance's verdict on each order of the ticket, as the OMS's create would get it (the real
    checker, the user's permission compliance.check; nothing is stored). The run is remembered:
    Send's create reuses it only if nothing it read has changed (engine.compliance.preview)."""
    r = ticket.request
    intents = [
        OrderIntent(
            ln.account,
            ticket.listing.symbol,
            r.side,
            ln.quantity,
            r.order_type,
            r.limit_price,
            ref=PREVIEW_REF + ln.account,
        )
        for ln in ticket.orders
    ]
    outcomes = {
        o.ref: o
        for o in ComplianceChecker(clock=clock, persist=False, remember=True).check(
            session, intents, username
        )
    }
    lines = []
    for ln in ticket.lines:
        o = outcomes.get(PREVIEW_REF + ln.account) if ln.quantity > 0 else None
        if o is None:
            lines.append(ln)
            continue
        lines.append(
            TicketLine(ln.account, ln.base_currency, ln.quantity, ln.account_value, ln.notional, ln.note,
                       o.outcome, tuple(o.messages))
        )  # fmt: skip
    return TicketPlan(r, ticket.listing, ticket.price, ticket.price_date, ticket.as_of, ticket.fx_note, lines)
