"""Corporate-action primitives: splits and reverse splits, cash dividends less withholding,
symbol/ISIN changes (the other kinds, the dates and the desk's workflow: engine.corporate).

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

`apply_corporate_action` creates the action and books it at once (status `booked`, event
`apply`, audited as `actor`): the demo's and the tests' path. The desk enters actions through
engine.corporate, which books them on their dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.accounting.balances import ZERO, move_balances
from engine.accounting.errors import BookingError
from engine.accounting.rules import withholding_rate
from engine.accounting.tables import Booking, CashMovement, CorporateAction, RealizedGain
from engine.model.currency import round_money
from engine.state.corporate import BOOKED, CORPORATE_ACTIONS
from engine.store.accounts import Account
from engine.store.base import utcnow
from engine.store.bulk import table_of
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


def apply_corporate_action(session: Session, spec: ActionSpec, *, actor: str = "system") -> ActionResult:
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
        CORPORATE_ACTIONS.start(session, action, BOOKED, actor=actor, event="apply")
    return result


def lot_root(lot_ref: str) -> str:
    """The lot reference of the buy a lot came from: `B12` for `B12`, `B12-W7` (a wash-sale
    replacement split off it) and `B12-S3` (a spin-off's shares from it)."""
    return lot_ref.split("-", 1)[0]


def trade_starts(
    session: Session, security_id: int, keys: set[tuple[int, str]]
) -> dict[tuple[int, str], date]:
    """(account_id, lot_ref) -> trade date of the buy that opened each of `keys` (its `acquired` may
    have moved back by a wash sale's holding period; entitlement goes by when the shares were
    really bought). The security's own buys first; a lot a merger or spin-off brought into it
    under another security's buy is looked up by its reference."""
    out: dict[tuple[int, str], date] = {
        (int(a or 0), str(ref)): d
        for a, ref, d in session.execute(
            select(Booking.account_id, Booking.lot_ref, Booking.trade_date).where(
                Booking.kind == "trade", Booking.security_id == security_id, Booking.lot_ref.is_not(None)
            )
        )
    }
    missing = sorted({lot_root(r) for a, r in keys if (a, lot_root(r)) not in out})
    for i in range(0, len(missing), 500):
        for a, ref, d in session.execute(
            select(Booking.account_id, Booking.lot_ref, Booking.trade_date).where(
                Booking.kind == "trade", Booking.lot_ref.in_(missing[i : i + 500])
            )
        ):
            out.setdefault((int(a or 0), str(ref)), d)
    return out


def _start(starts: dict[tuple[int, str], date], account_id: int, lot_ref: str) -> date | None:
    return starts.get((account_id, lot_ref), starts.get((account_id, lot_root(lot_ref))))


def held_before(session: Session, security_id: int, ex_date: date) -> list[TaxLot]:
    """Open lots of the security whose shares were bought before the ex-date."""
    lots = list(session.scalars(select(TaxLot).where(TaxLot.security_id == security_id).order_by(TaxLot.id)))
    starts = trade_starts(session, security_id, {(lot.account_id, lot.lot_ref) for lot in lots})
    return [lot for lot in lots if (_start(starts, lot.account_id, lot.lot_ref) or lot.acquired) < ex_date]


def entitled(session: Session, security_id: int, ex_date: date) -> dict[int, Decimal]:
    """Shares each account held on the eve of the ex-date: open lots bought before it, plus the
    shares of such lots sold on or after it (a dividend booked on its pay date still pays them)."""
    held: dict[int, Decimal] = {}
    # Plain rows, not ORM lots: a dividend reads every holder's lots and changes none of them.
    lots = session.execute(
        select(TaxLot.account_id, TaxLot.lot_ref, TaxLot.quantity, TaxLot.acquired)
        .where(TaxLot.security_id == security_id)
        .order_by(TaxLot.id)
    ).all()
    lot_starts = trade_starts(session, security_id, {(int(a), str(r)) for a, r, _, _ in lots})
    for account_id, lot_ref, quantity, acquired in lots:
        if (_start(lot_starts, account_id, lot_ref) or acquired) < ex_date:
            held[account_id] = held.get(account_id, Decimal(0)) + Decimal(quantity)
    sold = session.execute(
        select(RealizedGain.account_id, RealizedGain.lot_ref, RealizedGain.quantity).where(
            RealizedGain.security_id == security_id, RealizedGain.sold >= ex_date
        )
    ).all()
    starts = trade_starts(session, security_id, {(int(a), str(r)) for a, r, _ in sold})
    for account_id, lot_ref, qty in sold:
        start = _start(starts, account_id, lot_ref)
        if start is not None and start < ex_date:
            held[account_id] = held.get(account_id, Decimal(0)) + Decimal(qty)
    return held


def _split(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    assert spec.ratio_new is not None and spec.ratio_old is not None
    factor = spec.ratio_new / spec.ratio_old
    # Shares bought on or after the ex-date are already new shares (a split applied late).
    lots = held_before(session, security.id, spec.ex_date)
    for lot in lots:
        lot.quantity = (Decimal(lot.quantity) * factor).quantize(Decimal("1e-6"))
        lot.unit_cost = (Decimal(lot.unit_cost) / factor).quantize(Decimal("1e-6"))
    return ActionResult(ref=spec.ref, applied=True, lots=len(lots))


def _dividend(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    return book_dividend(session, security, spec.ref, spec.ex_date, spec.pay_date, spec.amount)


def book_dividend(
    session: Session,
    security: Security,
    ref: str,
    ex_date: date,
    pay_date: date | None,
    amount: Decimal | None,
) -> ActionResult:
    """Pay `amount` per share to the ex-date's holders (engine.accounting.corporate.entitled), less
    withholding in force on the ex-date; the cash is unsettled until the pay date."""
    assert amount is not None
    spec = ActionSpec(ref, security.symbol, "dividend", ex_date, pay_date=pay_date, amount=amount)
    pay = spec.pay_date or spec.ex_date
    held = {a: q for a, q in entitled(session, security.id, spec.ex_date).items() if q > 0}
    ccy = security.currency
    mult = Decimal(security.price_multiplier)
    payments = []
    ids = sorted(held)
    accounts = {
        a.id: a
        for i in range(0, len(ids), 500)
        for a in session.execute(
            select(Account.id, Account.code, Account.tax_jurisdiction).where(Account.id.in_(ids[i : i + 500]))
        )
    }
    rates: dict[str, Decimal] = {}
    rows: list[dict[str, Any]] = []
    amounts: list[tuple[int, Decimal, Decimal]] = []
    for account_id in ids:
        account = accounts[account_id]
        gross = round_money(held[account_id] * amount * mult, ccy)
        if account.tax_jurisdiction not in rates:
            rates[account.tax_jurisdiction] = withholding_rate(
                session, security.country, account.tax_jurisdiction, spec.ex_date
            )
        tax = round_money(gross * rates[account.tax_jurisdiction], ccy)
        rows.append(dict(
            source_ref=f"CA:{spec.ref}:{account.code}", kind="dividend", account_id=account_id,
            security_id=security.id, side=None, quantity=held[account_id], price=spec.amount, currency=ccy,
            cash_amount=gross - tax, trade_date=spec.ex_date, settle_date=pay, commission=Decimal(0),
            fees=Decimal(0), replacement_used=Decimal(0), lot_ref=None,
        ))  # fmt: skip
        amounts.append((account_id, gross, tax))
    if not rows:
        return ActionResult(ref=spec.ref, applied=True, lots=0, payments=())
    # Set-wise: the bookings in one statement (ids in order), their movements in another, each
    # balance moved once by the movements' sum (the same rows post_cash writes one by one).
    booking_ids = list(
        session.scalars(
            insert(table_of(Booking)).returning(table_of(Booking).c.id, sort_by_parameter_order=True), rows
        )
    )
    moves: list[dict[str, Any]] = []
    for booking_id, (account_id, gross, tax) in zip(booking_ids, amounts, strict=True):
        account = accounts[account_id]
        rate = rates[account.tax_jurisdiction]
        common: dict[str, Any] = dict(account_id=account_id, currency=ccy, trade_date=spec.ex_date,
                                      settle_date=pay, booking_id=booking_id, settled=False)  # fmt: skip
        moves.append({**common, "amount": round_money(gross, ccy), "kind": "dividend",
                      "note": f"{security.symbol} {spec.amount}/sh"})  # fmt: skip
        if tax:
            moves.append({**common, "amount": round_money(-tax, ccy), "kind": "withholding",
                          "note": f"{security.country} withholding {rate:%} for {account.tax_jurisdiction} resident"})  # fmt: skip
        payments.append((account.code, gross, tax))
    session.execute(insert(table_of(CashMovement)), moves)
    delta: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for m in moves:
        key = (m["account_id"], ccy)
        delta[key] = (ZERO, delta.get(key, (ZERO, ZERO))[1] + m["amount"])
    move_balances(session, delta)
    return ActionResult(ref=spec.ref, applied=True, lots=0, payments=tuple(payments))


def _rename(session: Session, security: Security, spec: ActionSpec) -> ActionResult:
    return rename(session, security, spec.ref, spec.new_symbol, spec.new_isin)


def rename(
    session: Session, security: Security, ref: str, new_symbol: str | None, new_isin: str | None
) -> ActionResult:
    """Change the security's symbol and/or ISIN in place (lots, gains and history follow it)."""
    spec = ActionSpec(ref, security.symbol, "rename", date.min, new_symbol=new_symbol, new_isin=new_isin)
    if spec.new_symbol and spec.new_symbol != security.symbol:
        clash = session.scalars(select(Security).where(Security.symbol == spec.new_symbol)).first()
        if clash is not None:
            raise BookingError(spec.ref, "new_symbol", f"{spec.new_symbol!r} is already another security")
        security.symbol = spec.new_symbol
    if spec.new_isin:
        security.isin = spec.new_isin
    return ActionResult(ref=spec.ref, applied=True)
