"""Wash sales (IRC section 1091; IRS Publication 550) for US taxable accounts, across the household.

A loss on a sale is disallowed when substantially identical securities are bought within 30 days
before or after it, in any account of the same household. Where fewer shares are bought back than
sold, only that proportion is disallowed. The disallowed loss is added to the replacement lot's
basis and the sold lot's holding period is added to the replacement's (its start date moves back).
An ADR replaces its ordinary (and the reverse) share for share in ordinary equivalents (adr_ratio).
A replacement bought in a tax-deferred or exempt account disallows the loss permanently, with no
basis added (Revenue Ruling 2008-5). Each match is written to the realized gain's wash_note.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.identical import identical_securities
from engine.accounting.tables import Booking, RealizedGain
from engine.model.currency import round_money
from engine.model.enums import TaxStatus
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security

WINDOW = timedelta(days=30)


def applies_to(account: Account) -> bool:
    """Wash-sale rules bind US taxable accounts."""
    return account.tax_jurisdiction == "US" and account.tax_status == TaxStatus.TAXABLE.value


def _household_accounts(session: Session, account: Account) -> dict[int, Account]:
    return {
        a.id: a for a in session.scalars(select(Account).where(Account.household_id == account.household_id))
    }


def _apply(
    session: Session,
    gain: RealizedGain,
    take: Decimal,
    take_buy: Decimal,
    buy: Booking,
    lot: TaxLot,
    buyer: Account,
    seller: Account,
) -> None:
    """Disallow `take` sold shares' part of the loss against `take_buy` shares of the lot `lot`."""
    per_share = -Decimal(gain.gain_base) / Decimal(gain.quantity)
    base_ccy = seller.base_currency
    disallowed = round_money(per_share * take, base_ccy)
    gain.wash_disallowed_base = Decimal(gain.wash_disallowed_base) + disallowed
    gain.wash_unmatched_qty = Decimal(gain.wash_unmatched_qty) - take
    buy.replacement_used = Decimal(buy.replacement_used) + take_buy
    symbol = session.get(Security, buy.security_id).symbol  # type: ignore[union-attr]
    why = (
        f"wash sale (IRC 1091): {take} of {gain.quantity} shares' loss of "
        f"{-Decimal(gain.gain_base)} {base_ccy} disallowed ({disallowed} {base_ccy}); "
        f"{take_buy} {symbol} bought {buy.trade_date} in {buyer.code} (booking {buy.source_ref}) "
        f"within 30 days of the sale on {gain.sold}"
    )
    if buyer.tax_status != TaxStatus.TAXABLE.value:
        why += f"; replacement in a {buyer.tax_status} account: disallowed permanently (Rev. Rul. 2008-5)"
    else:
        # Split off the replacement shares so only they carry the added basis and holding period.
        mult = Decimal(session.get(Security, lot.security_id).price_multiplier)  # type: ignore[union-attr]
        target = lot
        if take_buy < Decimal(lot.quantity):
            target = TaxLot(
                account_id=lot.account_id,
                security_id=lot.security_id,
                lot_ref=f"{lot.lot_ref}-W{gain.id}"[:40],
                quantity=take_buy,
                unit_cost=lot.unit_cost,
                acquired=lot.acquired,
                fx_rate=lot.fx_rate,
            )
            lot.quantity = Decimal(lot.quantity) - take_buy
            session.add(target)
        add_local = disallowed / (Decimal(target.fx_rate) * mult * take_buy)
        target.unit_cost = (Decimal(target.unit_cost) + add_local).quantize(Decimal("1e-6"))
        target.acquired = target.acquired - (gain.sold - gain.acquired)
        why += f"; added to the basis of lot {target.lot_ref}, holding period from {target.acquired}"
    gain.wash_note = (gain.wash_note + " | " if gain.wash_note else "") + why
    session.flush()


def ordinary_equivalent(session: Session, security_id: int) -> Decimal:
    """Ordinary shares one share of this security stands for (an ADR's ratio; 1 otherwise)."""
    sec = session.get(Security, security_id)
    if sec is not None and sec.adr_ordinary_id is not None and sec.adr_ratio:
        return Decimal(sec.adr_ratio)
    return Decimal(1)


def _match(
    session: Session, gain: RealizedGain, buy: Booking, lot: TaxLot, buyer: Account, seller: Account
) -> None:
    """Use as much of this buy's open replacement room as the loss still needs (in ordinary shares)."""
    fs = ordinary_equivalent(session, gain.security_id)
    fb = ordinary_equivalent(session, lot.security_id)
    room = min(Decimal(buy.quantity or 0) - Decimal(buy.replacement_used), Decimal(lot.quantity))
    take = min(room * fb / fs, Decimal(gain.wash_unmatched_qty or 0))
    if take > 0:
        take_buy = min((take * fs / fb).quantize(Decimal("1e-6")), room)
        _apply(session, gain, take, take_buy, buy, lot, buyer, seller)


def _open_lot(session: Session, buy: Booking) -> TaxLot | None:
    if buy.lot_ref is None:
        return None
    return session.scalars(
        select(TaxLot).where(TaxLot.account_id == buy.account_id, TaxLot.lot_ref == buy.lot_ref)
    ).first()


def match_sale(session: Session, seller: Account, gains: Iterable[RealizedGain], sold_lots: set[str]) -> None:
    """After a sale: match its losses against household buys 30 days either side."""
    losses = [g for g in gains if Decimal(g.gain_base) < 0]
    if not losses or not applies_to(seller):
        return
    accounts = _household_accounts(session, seller)
    for gain in losses:
        gain.wash_unmatched_qty = Decimal(gain.quantity)
        same = identical_securities(session, gain.security_id)
        buys = session.scalars(
            select(Booking)
            .where(
                Booking.kind == "trade",
                Booking.side == "buy",
                Booking.account_id.in_(accounts),
                Booking.security_id.in_(same),
                Booking.trade_date >= gain.sold - WINDOW,
                Booking.trade_date <= gain.sold + WINDOW,
                Booking.replacement_used < Booking.quantity,
            )
            .order_by(Booking.trade_date, Booking.id)
        ).all()
        for buy in buys:
            if Decimal(gain.wash_unmatched_qty) <= 0:
                break
            if buy.account_id == seller.id and buy.lot_ref in sold_lots:
                continue  # the shares sold are not their own replacement
            lot = _open_lot(session, buy)
            if lot is not None and buy.account_id is not None:
                _match(session, gain, buy, lot, accounts[buy.account_id], seller)


def match_buy(session: Session, buyer: Account, buy: Booking) -> None:
    """After a buy: use it as replacement for household losses sold 30 days either side."""
    accounts = _household_accounts(session, buyer)
    sellers = {i: a for i, a in accounts.items() if applies_to(a)}
    if not sellers or buy.security_id is None:
        return
    same = identical_securities(session, buy.security_id)
    gains = session.scalars(
        select(RealizedGain)
        .where(
            RealizedGain.account_id.in_(sellers),
            RealizedGain.security_id.in_(same),
            RealizedGain.wash_unmatched_qty > 0,
            RealizedGain.sold >= buy.trade_date - WINDOW,
            RealizedGain.sold <= buy.trade_date + WINDOW,
        )
        .order_by(RealizedGain.sold, RealizedGain.id)
    ).all()
    for gain in gains:
        lot = _open_lot(session, buy)
        if lot is None:
            return
        _match(session, gain, buy, lot, buyer, sellers[gain.account_id])


def window(sold: date) -> tuple[date, date]:
    """The 61-day window around a sale date."""
    return sold - WINDOW, sold + WINDOW
