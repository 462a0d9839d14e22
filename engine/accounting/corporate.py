"""Corporate actions: splits and reverse splits, cash dividends less withholding, symbol/ISIN changes.

Each action is stored by its `ref` and applied once: applying the same ref again changes nothing
(and different terms under a used ref are an error). A split multiplies every open lot's quantity
by new/old and divides its unit cost by the same factor, so each lot's total cost is unchanged
(to the 6-decimal unit-cost precision). Both go by lots whose shares were bought before the
ex-date (the buy's trade date, not a wash-sale-adjusted holding start; lots bought on or after it
are new shares). A dividend pays quantity x amount in the security's currency to every account
holding such lots, less withholding looked up
by (security's country, account's tax jurisdiction) in force on the ex-date; the cash is
unsettled until the pay date. A rename changes the security's symbol and/or ISIN in place, so
lots, gains and history follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.cash import post_cash
from engine.accounting.errors import BookingError
from engine.accounting.rules import withholding_rate
from engine.accounting.tables import Booking, CorporateAction
from engine.model.currency import round_money
from engine.store.accounts import Account
from engine.store.base import utcnow
from engine.store.positions import TaxLot
from engine.store.reference import Security

KINDS = ("split", "dividend", "rename")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A corporate action as announced. `symbol` is the security's symbol before the action."""

    ref: str
    symbol: str
    kind: str
    ex_date: date
    pay_date: date | None = None
    ratio_new: Decimal | None = None
    ratio_old: Decimal | None = None
    amount: Decimal | None = None
    new_symbol: str | None = None
    new_isin: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What applying did: lots touched, accounts paid, gross and withheld by account code."""

    ref: str
    applied: bool
    lots: int = 0
    payments: tuple[tuple[str, Decimal, Decimal], ...] = ()


def _validate(spec: ActionSpec) -> None:
    if spec.kind not in KINDS:
        raise BookingError(spec.ref, "kind", f"must be one of {', '.join(KINDS)}")
    if spec.kind == "split" and not (
        spec.ratio_new and spec.ratio_old and spec.ratio_new > 0 and spec.ratio_old > 0
    ):
        raise BookingError(spec.ref, "ratio", "a split needs positive ratio_new and ratio_old")
    if spec.kind == "dividend" and (spec.amount is None or spec.amount <= 0):
        raise BookingError(spec.ref, "amount", "a dividend needs a positive amount per share")
    if spec.kind == "rename" and not (spec.new_symbol or spec.new_isin):
        raise BookingError(spec.ref, "new_symbol", "a rename needs a new symbol or ISIN")


def apply_corporate_action(session: Session, spec: ActionSpec) -> ActionResult:
    """Apply once; a second call with the same ref returns applied=False and changes nothing."""
    _validate(spec)
    done = session.scalars(select(CorporateAction).where(CorporateAction.ref == spec.ref)).first()
    if done is not None:
        if done.kind != spec.kind or done.ex_date != spec.ex_date:
            raise BookingError(spec.ref, "ref", "already applied with different terms")
        return ActionResult(ref=spec.ref, applied=False)
    security = session.scalars(select(Security).where(Security.symbol == spec.symbol)).first()
    if security is None:
        raise BookingError(spec.ref, "symbol", f"no security {spec.symbol!r}")
    with session.begin_nested():
        action = CorporateAction(
            ref=spec.ref,
            security_id=security.id,
            kind=spec.kind,
            ex_date=spec.ex_date,
            pay_date=spec.pay_date,
            ratio_new=spec.ratio_new,
            ratio_old=spec.ratio_old,
            amount=spec.amount,
            new_symbol=spec.new_symbol,
            new_isin=spec.new_isin,
        )
        session.add(action)
        session.flush()
        if spec.kind == "split":
            result = _split(session, security, spec)
        elif spec.kind == "dividend":
            result = _dividend(session, security, spec)
        else:
            result = _rename(session, security, spec)
        action.applied_at = utcnow()
        session.flush()
    return result


def _trade_starts(session: Session, security_id: int) -> dict[tuple[int, str], date]:
    """(account_id, lot_ref) -> trade date of the buy that opened it (its `acquired` may have moved
    back by a wash sale's holding period; entitlement goes by when the shares were really bought)."""
    return {
        (int(a or 0), str(ref)): d
        for a, ref, d in session.execute(
            select(Booking.account_id, Booking.lot_ref, Booking.trade_date).where(
                Booking.kind == "trade", Booking.security_id == security_id, Booking.lot_ref.is_not(None)
            )
        )
    }


def _held_before(session: Session, security_id: int, ex_date: date) -> list[TaxLot]:
    """Open lots of the security whose shares were bought before the ex-date."""
    starts = _trade_starts(session, security_id)
    out = []
    for lot in session.scalars(select(TaxLot).where(TaxLot.security_id == security_id)):
        key = (lot.account_id, lot.lot_ref.split("-W", 1)[0])
        if starts.get((lot.account_id, lot.lot_ref), starts.get(key, lot.acquired)) < ex_date:
            out.append(lot)
    return out


def _split(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    assert spec.ratio_new is not None and spec.ratio_old is not None
    factor = spec.ratio_new / spec.ratio_old
    # Shares bought on or after the ex-date are already new shares (a split applied late).
    lots = _held_before(session, security.id, spec.ex_date)
    for lot in lots:
        lot.quantity = (Decimal(lot.quantity) * factor).quantize(Decimal("1e-6"))
        lot.unit_cost = (Decimal(lot.unit_cost) / factor).quantize(Decimal("1e-6"))
    return ActionResult(ref=spec.ref, applied=True, lots=len(lots))


def _dividend(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    assert spec.amount is not None
    pay = spec.pay_date or spec.ex_date
    held: dict[int, Decimal] = {}
    for lot in _held_before(session, security.id, spec.ex_date):
        held[lot.account_id] = held.get(lot.account_id, Decimal(0)) + Decimal(lot.quantity)
    ccy = security.currency
    mult = Decimal(security.price_multiplier)
    payments = []
    for account_id in sorted(held):
        account = session.get(Account, account_id)
        assert account is not None
        gross = round_money(held[account_id] * spec.amount * mult, ccy)
        rate = withholding_rate(session, security.country, account.tax_jurisdiction, spec.ex_date)
        tax = round_money(gross * rate, ccy)
        booking = Booking(
            source_ref=f"CA:{spec.ref}:{account.code}",
            kind="dividend",
            account_id=account_id,
            security_id=security.id,
            quantity=held[account_id],
            price=spec.amount,
            currency=ccy,
            cash_amount=gross - tax,
            trade_date=spec.ex_date,
            settle_date=pay,
            commission=Decimal(0),
            fees=Decimal(0),
            replacement_used=Decimal(0),
        )
        session.add(booking)
        session.flush()
        common: dict[str, Any] = dict(
            account_id=account_id,
            currency=ccy,
            trade_date=spec.ex_date,
            settle_date=pay,
            booking_id=booking.id,
        )
        post_cash(
            session, amount=gross, kind="dividend", note=f"{security.symbol} {spec.amount}/sh", **common
        )
        if tax:
            post_cash(
                session,
                amount=-tax,
                kind="withholding",
                note=f"{security.country} withholding {rate:%} for {account.tax_jurisdiction} resident",
                **common,
            )
        payments.append((account.code, gross, tax))
    return ActionResult(ref=spec.ref, applied=True, lots=0, payments=tuple(payments))


def _rename(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    if spec.new_symbol and spec.new_symbol != security.symbol:
        clash = session.scalars(select(Security).where(Security.symbol == spec.new_symbol)).first()
        if clash is not None:
            raise BookingError(spec.ref, "new_symbol", f"{spec.new_symbol!r} is already another security")
        security.symbol = spec.new_symbol
    if spec.new_isin:
        security.isin = spec.new_isin
    return ActionResult(ref=spec.ref, applied=True)
