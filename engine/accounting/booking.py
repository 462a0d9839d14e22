"""Book trades into lots, realized gains and the cash ledger: `LedgerBooker` (engine.ports.TradeBooker).

Buys open a lot: cost in the security's currency including commission and fees, and the FX rate
to the account's base currency on the trade date. Sells relieve lots by the account's lot_relief
(or the fill's LotPick list), write one realized gain per lot (base gain split into a price part
at the sale rate and a currency part on the cost), and class it by the jurisdiction's holding
rule. Cash moves in the security's currency, unsettled until the settle date (exchange calendar
and the cycle in force on the trade date). Booking is idempotent on `fill.source_ref`: the same
reference again returns the first result and changes nothing; the same reference with different
terms is an error. A fill that cannot be booked raises BookingError and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting import washsale
from engine.accounting.cash import post_cash
from engine.accounting.errors import BookingError
from engine.accounting.holding import term
from engine.accounting.relief import OpenLot, ReliefError, choose_lots
from engine.accounting.rules import long_after_months
from engine.accounting.settlement import security_settle_date
from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.errors import NotFound
from engine.model.currency import round_money
from engine.model.enums import LotRelief, Side
from engine.model.trades import TradeFill
from engine.pricing.fx import FxTable
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security

UNIT = Decimal("1e-6")


@dataclass(frozen=True, slots=True)
class RealizedLine:
    """One lot relieved by a sale, in the account's base currency."""

    lot_ref: str
    quantity: Decimal
    acquired: date
    proceeds_base: Decimal
    cost_base: Decimal
    gain_base: Decimal
    price_gain_base: Decimal
    fx_gain_base: Decimal
    term: str
    wash_disallowed_base: Decimal
    wash_note: str | None


@dataclass(frozen=True, slots=True)
class BookingResult:
    """What a booking did. `duplicate` is True when the source_ref had been booked before."""

    booking_id: int
    source_ref: str
    duplicate: bool
    account: str
    symbol: str
    side: str
    quantity: Decimal
    currency: str
    cash_amount: Decimal
    trade_date: date
    settle_date: date
    fx_rate: Decimal
    lot_opened: str | None = None
    realized: tuple[RealizedLine, ...] = field(default_factory=tuple)


def _result(session: Session, b: Booking, duplicate: bool, fx_rate: Decimal) -> BookingResult:
    account = session.get(Account, b.account_id)
    security = session.get(Security, b.security_id)
    gains = session.scalars(
        select(RealizedGain).where(RealizedGain.booking_id == b.id).order_by(RealizedGain.id)
    ).all()
    return BookingResult(
        booking_id=b.id,
        source_ref=b.source_ref,
        duplicate=duplicate,
        account=account.code if account else "",
        symbol=security.symbol if security else "",
        side=b.side or "",
        quantity=Decimal(b.quantity or 0),
        currency=b.currency or "",
        cash_amount=Decimal(b.cash_amount),
        trade_date=b.trade_date,
        settle_date=b.settle_date or b.trade_date,
        fx_rate=fx_rate,
        lot_opened=b.lot_ref if b.side == Side.BUY.value else None,
        realized=tuple(
            RealizedLine(
                lot_ref=g.lot_ref,
                quantity=Decimal(g.quantity),
                acquired=g.acquired,
                proceeds_base=Decimal(g.proceeds_base),
                cost_base=Decimal(g.cost_base),
                gain_base=Decimal(g.gain_base),
                price_gain_base=Decimal(g.price_gain_base),
                fx_gain_base=Decimal(g.fx_gain_base),
                term=g.term,
                wash_disallowed_base=Decimal(g.wash_disallowed_base),
                wash_note=g.wash_note,
            )
            for g in gains
        ),
    )


def _same_terms(b: Booking, account: Account | None, security: Security | None, fill: TradeFill) -> bool:
    return (
        account is not None
        and security is not None
        and b.account_id == account.id
        and b.security_id == security.id
        and b.side == fill.side.value
        and Decimal(b.quantity or 0) == fill.quantity
        and abs(Decimal(b.price or 0) - fill.price) < UNIT
        and b.trade_date == fill.trade_date
    )


class LedgerBooker:
    """Books fills into tax lots, realized gains and cash. Satisfies engine.ports.TradeBooker."""

    def __init__(self, fx: FxTable | None = None) -> None:
        """`fx` may be given (tests, batch runs); otherwise rates are read per trade date."""
        self._fx = fx
        self._by_day: dict[date, FxTable] = {}

    def _table(self, session: Session, on: date) -> FxTable:
        """The FX table around `on`, kept once a fixing on or after `on` exists (it cannot change)."""
        if self._fx is not None:
            return self._fx
        cached = self._by_day.get(on)
        if cached is not None:
            return cached
        table = FxTable.load(session, start=on, end=on + timedelta(days=1))
        if getattr(table, "last_date", None) is not None and table.last_date > on:
            if len(self._by_day) > 64:
                self._by_day.clear()
            self._by_day[on] = table
        return table

    def _fx_rate(self, session: Session, ref: str, from_ccy: str, to_ccy: str, on: date) -> Decimal:
        if from_ccy == to_ccy:
            return Decimal(1)
        fx = self._table(session, on)
        try:
            return fx.rate(from_ccy, to_ccy, on)
        except NotFound as exc:
            raise BookingError(ref, "trade_date", f"no {from_ccy}/{to_ccy} FX rate: {exc}") from None

    def book(self, session: Session, fill: TradeFill) -> BookingResult:
        """Book one fill in the caller's transaction; see the module docstring."""
        ref = fill.source_ref
        if not ref:
            raise BookingError("(no source_ref)", "source_ref", "required for idempotent booking")
        account = session.scalars(select(Account).where(Account.code == fill.account)).first()
        security = session.scalars(select(Security).where(Security.symbol == fill.symbol)).first()
        prior = session.scalars(select(Booking).where(Booking.source_ref == ref)).first()
        if prior is not None:
            if not _same_terms(prior, account, security, fill):
                raise BookingError(ref, "source_ref", "already booked with different terms")
            return _result(session, prior, True, Decimal(0))
        if account is None:
            raise BookingError(ref, "account", f"no account {fill.account!r}")
        if security is None:
            raise BookingError(ref, "symbol", f"no security {fill.symbol!r}")
        if fill.quantity <= 0:
            raise BookingError(ref, "quantity", f"must be positive, got {fill.quantity}")
        if fill.price < 0:
            raise BookingError(ref, "price", f"must not be negative, got {fill.price}")
        if fill.commission < 0 or fill.fees < 0:
            raise BookingError(ref, "commission", "commission and fees must not be negative")
        try:
            settle = fill.settle_date or security_settle_date(session, security.mic, fill.trade_date)
        except NotFound as exc:
            raise BookingError(ref, "trade_date", str(exc)) from None
        if settle < fill.trade_date:
            raise BookingError(ref, "settle_date", f"{settle} is before the trade date {fill.trade_date}")
        ccy = security.currency
        fx_rate = self._fx_rate(session, ref, ccy, account.base_currency, fill.trade_date)
        mult = Decimal(security.price_multiplier)
        gross = fill.quantity * fill.price * mult
        costs = fill.commission + fill.fees
        with session.begin_nested():
            booking = Booking(
                source_ref=ref,
                kind="trade",
                account_id=account.id,
                security_id=security.id,
                side=fill.side.value,
                quantity=fill.quantity,
                price=fill.price,
                commission=fill.commission,
                fees=fill.fees,
                currency=ccy,
                cash_amount=Decimal(0),
                trade_date=fill.trade_date,
                settle_date=settle,
                replacement_used=Decimal(0),
            )
            session.add(booking)
            session.flush()
            if fill.side == Side.BUY:
                cash = round_money(-(gross + costs), ccy)
                booking.lot_ref = f"B{booking.id}"
                session.add(
                    TaxLot(
                        account_id=account.id,
                        security_id=security.id,
                        lot_ref=booking.lot_ref,
                        quantity=fill.quantity,
                        unit_cost=((gross + costs) / (fill.quantity * mult)).quantize(UNIT),
                        acquired=fill.trade_date,
                        fx_rate=fx_rate,
                    )
                )
                session.flush()
            else:
                cash = round_money(gross - costs, ccy)
                gains, sold = self._relieve(session, account, security, fill, cash, fx_rate, booking)
            booking.cash_amount = cash
            post_cash(
                session,
                account_id=account.id,
                currency=ccy,
                amount=cash,
                kind="trade",
                trade_date=fill.trade_date,
                settle_date=settle,
                booking_id=booking.id,
                note=f"{fill.side.value} {fill.quantity} {security.symbol} @ {fill.price}",
            )
            session.flush()
            if fill.side == Side.BUY:
                washsale.match_buy(session, account, booking)
            else:
                washsale.match_sale(session, account, gains, sold)
            session.flush()
        return _result(session, booking, False, fx_rate)

    def _relieve(
        self,
        session: Session,
        account: Account,
        security: Security,
        fill: TradeFill,
        net_proceeds: Decimal,
        sale_fx: Decimal,
        booking: Booking,
    ) -> tuple[list[RealizedGain], set[str]]:
        rows = session.scalars(
            select(TaxLot).where(TaxLot.account_id == account.id, TaxLot.security_id == security.id)
        ).all()
        by_ref = {r.lot_ref: r for r in rows}
        lots = [
            OpenLot(r.lot_ref, Decimal(r.quantity), Decimal(r.unit_cost), r.acquired, Decimal(r.fx_rate))
            for r in rows
        ]
        months = long_after_months(session, account.tax_jurisdiction)
        try:
            method = LotRelief(account.lot_relief)
        except ValueError:
            raise BookingError(
                fill.source_ref, "lot_relief", f"unknown method {account.lot_relief!r}"
            ) from None
        try:
            chosen = choose_lots(
                lots,
                fill.quantity,
                method,
                price=fill.price,
                sale_fx=sale_fx,
                sold=fill.trade_date,
                long_after_months=months,
                picks=fill.lots,
            )
        except ReliefError as exc:
            raise BookingError(fill.source_ref, "lots" if fill.lots else "quantity", str(exc)) from None
        mult = Decimal(security.price_multiplier)
        base = account.base_currency
        ccy = security.currency
        gains: list[RealizedGain] = []
        left_proceeds = net_proceeds
        for i, (lot, qty) in enumerate(chosen):
            last = i == len(chosen) - 1
            proceeds = left_proceeds if last else round_money(net_proceeds * qty / fill.quantity, ccy)
            left_proceeds -= proceeds
            cost = qty * lot.unit_cost * mult
            proceeds_base = round_money(proceeds * sale_fx, base)
            cost_base = round_money(cost * lot.fx_rate, base)
            gain_base = proceeds_base - cost_base
            price_gain = round_money((proceeds - cost) * sale_fx, base)
            g = RealizedGain(
                booking_id=booking.id,
                account_id=account.id,
                security_id=security.id,
                lot_ref=lot.ref,
                quantity=qty,
                acquired=lot.acquired,
                sold=fill.trade_date,
                currency=ccy,
                base_currency=base,
                proceeds_local=proceeds,
                cost_local=round_money(cost, ccy),
                proceeds_base=proceeds_base,
                cost_base=cost_base,
                gain_base=gain_base,
                price_gain_base=price_gain,
                fx_gain_base=gain_base - price_gain,
                term=term(lot.acquired, fill.trade_date, months),
                wash_disallowed_base=Decimal(0),
                wash_unmatched_qty=Decimal(0),
            )
            session.add(g)
            gains.append(g)
            row = by_ref[lot.ref]
            remaining = Decimal(row.quantity) - qty
            if remaining == 0:
                session.delete(row)
            else:
                row.quantity = remaining
        session.flush()
        return gains, {lot.ref for lot, _ in chosen}


def cash_movements(session: Session, booking_id: int) -> list[CashMovement]:
    """The cash movements a booking posted (for reports and tests)."""
    return list(session.scalars(select(CashMovement).where(CashMovement.booking_id == booking_id)))
