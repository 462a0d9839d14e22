"""FX spot trades and external cash flows: postings that move cash only.

An FX spot trade buys one currency against another in one account; both legs are unsettled
until the spot value date (T+2, USD/CAD T+1, business days of both currencies). An external flow
(deposit positive, withdrawal negative) is settled on its date. Both are idempotent on source_ref.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.cash import post_cash
from engine.accounting.errors import BookingError
from engine.accounting.settlement import fx_settle_date
from engine.accounting.tables import Booking
from engine.errors import NotFound
from engine.model.currency import is_currency, round_money
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Account


@dataclass(frozen=True, slots=True)
class CashBooking:
    booking_id: int
    duplicate: bool
    settle_date: date


def _account(session: Session, ref: str, code: str) -> Account:
    account = session.scalars(select(Account).where(Account.code == code)).first()
    if account is None:
        raise BookingError(ref, "account", f"no account {code!r}")
    return account


def _prior(session: Session, ref: str, kind: str) -> CashBooking | None:
    prior = session.scalars(select(Booking).where(Booking.source_ref == ref)).first()
    if prior is None:
        return None
    if prior.kind != kind:
        raise BookingError(ref, "source_ref", f"already used by a {prior.kind} booking")
    return CashBooking(prior.id, True, prior.settle_date or prior.trade_date)


def book_fx_spot(
    session: Session,
    *,
    account: str,
    buy_currency: str,
    buy_amount: Decimal,
    sell_currency: str,
    sell_amount: Decimal,
    trade_date: date,
    source_ref: str,
    settle_date: date | None = None,
) -> CashBooking:
    """Buy `buy_amount` of one currency for `sell_amount` of another (both positive)."""
    if (done := _prior(session, source_ref, "fx_spot")) is not None:
        return done
    acct = _account(session, source_ref, account)
    for name, ccy in (("buy_currency", buy_currency), ("sell_currency", sell_currency)):
        if not is_currency(ccy):
            raise BookingError(source_ref, name, f"{ccy!r} is not an ISO 4217 currency")
    if buy_currency == sell_currency:
        raise BookingError(source_ref, "sell_currency", "must differ from buy_currency")
    if buy_amount <= 0 or sell_amount <= 0:
        raise BookingError(source_ref, "amount", "both amounts must be positive")
    try:
        value = settle_date or fx_settle_date(buy_currency, sell_currency, trade_date)
    except NotFound as exc:
        raise BookingError(source_ref, "trade_date", str(exc)) from None
    with session.begin_nested():
        b = Booking(
            source_ref=source_ref,
            kind="fx_spot",
            account_id=acct.id,
            side="buy",
            quantity=buy_amount,
            price=(sell_amount / buy_amount).quantize(Decimal("1e-6")),
            currency=buy_currency,
            cash_amount=round_money(buy_amount, buy_currency),
            trade_date=trade_date,
            settle_date=value,
            commission=Decimal(0),
            fees=Decimal(0),
            replacement_used=Decimal(0),
        )
        session.add(b)
        session.flush()
        note = f"FX spot buy {buy_amount} {buy_currency} / sell {sell_amount} {sell_currency}"
        for ccy, amt in ((buy_currency, buy_amount), (sell_currency, -sell_amount)):
            post_cash(
                session,
                account_id=acct.id,
                currency=ccy,
                amount=amt,
                kind="fx",
                trade_date=trade_date,
                settle_date=value,
                booking_id=b.id,
                note=note,
            )
        session.flush()
    return CashBooking(b.id, False, value)


def book_fx_fill(session: Session, fill: TradeFill, dealt: str, counter: str) -> CashBooking:
    """An FX spot order's allocated fill as two cash legs, never lots.

    The order is on the pair `dealt``counter` (EURUSD): quantity in the dealt currency, price in
    counter units per dealt unit. A buy receives the dealt amount and pays quantity x price of
    the counter currency; a sell the reverse. Value date: `fill.settle_date`, else spot from both
    currencies' calendars. Idempotent on the fill's source_ref like every booking."""
    if fill.price <= 0:
        raise BookingError(fill.source_ref, "price", f"FX rate must be positive, got {fill.price}")
    counter_amount = round_money(fill.quantity * fill.price, counter)
    dealt_leg, counter_leg = (dealt, fill.quantity), (counter, counter_amount)
    (buy_ccy, buy_amt), (sell_ccy, sell_amt) = (
        (dealt_leg, counter_leg) if fill.side == Side.BUY else (counter_leg, dealt_leg)
    )
    return book_fx_spot(
        session,
        account=fill.account,
        buy_currency=buy_ccy,
        buy_amount=buy_amt,
        sell_currency=sell_ccy,
        sell_amount=sell_amt,
        trade_date=fill.trade_date,
        source_ref=fill.source_ref,
        settle_date=fill.settle_date,
    )


def book_cash_flow(
    session: Session, *, account: str, currency: str, amount: Decimal, on: date, source_ref: str
) -> CashBooking:
    """An external flow (deposit > 0, withdrawal < 0), settled on its date."""
    if (done := _prior(session, source_ref, "flow")) is not None:
        return done
    acct = _account(session, source_ref, account)
    if not is_currency(currency):
        raise BookingError(source_ref, "currency", f"{currency!r} is not an ISO 4217 currency")
    if amount == 0:
        raise BookingError(source_ref, "amount", "a flow of zero is not a flow")
    with session.begin_nested():
        b = Booking(
            source_ref=source_ref,
            kind="flow",
            account_id=acct.id,
            currency=currency,
            cash_amount=round_money(amount, currency),
            trade_date=on,
            settle_date=on,
            commission=Decimal(0),
            fees=Decimal(0),
            replacement_used=Decimal(0),
        )
        session.add(b)
        session.flush()
        post_cash(
            session,
            account_id=acct.id,
            currency=currency,
            amount=amount,
            kind="flow",
            trade_date=on,
            settle_date=on,
            booking_id=b.id,
            note="external flow",
            settled=True,
        )
        session.flush()
    return CashBooking(b.id, False, on)
