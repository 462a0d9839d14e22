"""What a corporate action books per account: one Booking keyed `CA:<ref>:<account>`, realized
gains (cash in lieu, merger cash, delistings) with the lot's holding period, and cash.

Money is rounded to the currency's minor unit; quantities and unit costs keep 6 decimals. A
fraction paid in lieu is a sale of that fraction on the ex date: proceeds at the in-lieu price,
cost at the lot's unit cost, the term from the lot's acquisition date (a wash sale's moved start
included), taken from the account's most recently acquired lots of the resulting security.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.cash import ensure_balances, post_cash
from engine.accounting.errors import BookingError
from engine.accounting.holding import term
from engine.accounting.rules import long_after_months
from engine.accounting.tables import Booking, CorporateAction, RealizedGain
from engine.errors import NotFound
from engine.model.currency import round_money
from engine.pricing.fx import FxTable
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security

UNIT = Decimal("1e-6")


class Ledger:
    """One action's postings: its bookings per account, FX and holding rules looked up once."""

    def __init__(self, session: Session, action: CorporateAction) -> None:
        self.session = session
        self.action = action
        self.bookings: dict[int, Booking] = {}
        self.cash: dict[str, Decimal] = {}
        self.realized = 0
        self._fx: FxTable | None = None
        self._months: dict[str, int | None] = {}
        self._accounts: dict[int, Account] = {}
        self._currencies: set[str] = set()

    def prepare(self, security: Security, held: dict[int, Decimal]) -> None:
        """Load the accounts, create every account's booking in one flush and load their cash
        balances, so the per-lot work that follows needs no query and no autoflush."""
        ids = sorted(held)
        for i in range(0, len(ids), 500):
            for a in self.session.scalars(select(Account).where(Account.id.in_(ids[i : i + 500]))):
                self._accounts[a.id] = a
        for account_id in ids:
            self.booking(self.account(account_id), security, held[account_id], flush=False)
        self.session.flush()
        ensure_balances(self.session, ids, security.currency)

    @property
    def settle(self) -> date:
        return self.action.pay_date or self.action.ex_date

    def account(self, account_id: int) -> Account:
        acct = self._accounts.get(account_id) or self.session.get(Account, account_id)
        if acct is None:
            raise NotFound(f"no account {account_id}")
        return acct

    def booking(self, account: Account, security: Security, quantity: Decimal, flush: bool = True) -> Booking:
        """The action's one booking in this account (created on first use)."""
        b = self.bookings.get(account.id)
        if b is None:
            b = Booking(
                source_ref=f"CA:{self.action.ref}:{account.code}"[:128],
                kind=self.action.kind,
                account_id=account.id,
                security_id=security.id,
                quantity=quantity,
                price=self.action.amount,
                currency=security.currency,
                cash_amount=Decimal(0),
                trade_date=self.action.ex_date,
                settle_date=self.settle,
                commission=Decimal(0),
                fees=Decimal(0),
                replacement_used=Decimal(0),
            )
            self.session.add(b)
            if flush:
                self.session.flush()
            self.bookings[account.id] = b
        return b

    def fx(self, from_ccy: str, to_ccy: str, on: date) -> Decimal:
        if from_ccy == to_ccy:
            return Decimal(1)
        if self._fx is None:
            self._fx = FxTable.load(self.session, start=on, end=on + timedelta(days=1))
        try:
            return self._fx.rate(from_ccy, to_ccy, on)
        except NotFound as exc:
            raise BookingError(self.action.ref, "ex_date", f"no {from_ccy}/{to_ccy} FX rate: {exc}") from None

    def months(self, jurisdiction: str) -> int | None:
        if jurisdiction not in self._months:
            self._months[jurisdiction] = long_after_months(self.session, jurisdiction)
        return self._months[jurisdiction]

    def pay(self, account: Account, security: Security, amount: Decimal, kind: str, note: str) -> None:
        """Cash to the account in the security's currency, unsettled until the pay date."""
        amount = round_money(amount, security.currency)
        if not amount:
            return
        b = self.booking(account, security, Decimal(0))
        if b.currency == security.currency:  # cash in lieu of another currency's shares: cash only
            b.cash_amount = Decimal(b.cash_amount) + amount
        post_cash(self.session, account_id=account.id, currency=security.currency, amount=amount, kind=kind,
                  trade_date=self.action.ex_date, settle_date=self.settle, booking_id=b.id,
                  note=f"{self.action.ref}: {note}")  # fmt: skip
        self.cash[security.currency] = self.cash.get(security.currency, Decimal(0)) + amount

    def carry(
        self, lot: TaxLot, old: Security, new: Security, quantity: Decimal, basis: Decimal, base: str
    ) -> None:
        """Make `lot` `quantity` shares of `new` carrying `basis` (in `old`'s currency) and the lot's
        acquisition date. Into another currency, the basis in the base currency is kept (the lot's
        own FX at purchase) and restated in `new`'s currency at the ex date's FX, which becomes the
        lot's FX rate: the new lot's base cost is the old one's, its local cost as of that day."""
        lot.security_id = new.id
        lot.quantity = quantity
        if new.currency != old.currency:
            if new.currency not in self._currencies:
                self._currencies.add(new.currency)
                ensure_balances(self.session, sorted(self._accounts), new.currency)
            rate = self.fx(new.currency, base, self.action.ex_date)
            basis = basis * Decimal(lot.fx_rate) / rate
            lot.fx_rate = rate
        per = quantity * Decimal(new.price_multiplier)
        lot.unit_cost = (basis / per).quantize(UNIT) if per > 0 else Decimal(0)

    def realize(
        self,
        account: Account,
        security: Security,
        lot: TaxLot,
        quantity: Decimal,
        proceeds: Decimal,
        cost: Decimal,
        note: str,
    ) -> RealizedGain:
        """A gain or loss on the ex date: `proceeds` and `cost` in the security's currency (rounded)."""
        ccy, base = security.currency, account.base_currency
        sold = self.action.ex_date
        sale_fx = self.fx(ccy, base, sold)
        proceeds, cost = round_money(proceeds, ccy), round_money(cost, ccy)
        proceeds_base = round_money(proceeds * sale_fx, base)
        cost_base = round_money(cost * Decimal(lot.fx_rate), base)
        gain_base = proceeds_base - cost_base
        price_gain = round_money((proceeds - cost) * sale_fx, base)
        booking = self.booking(account, security, Decimal(0))
        g = RealizedGain(
            booking_id=booking.id, account_id=account.id, security_id=security.id, lot_ref=lot.lot_ref,
            quantity=quantity, acquired=lot.acquired, sold=sold, currency=ccy, base_currency=base,
            proceeds_local=proceeds, cost_local=cost, proceeds_base=proceeds_base, cost_base=cost_base,
            gain_base=gain_base, price_gain_base=price_gain, fx_gain_base=gain_base - price_gain,
            term=term(lot.acquired, sold, self.months(account.tax_jurisdiction)),
            wash_disallowed_base=Decimal(0), wash_unmatched_qty=Decimal(0),
            wash_note=f"{self.action.ref}: {note}",
        )  # fmt: skip
        self.session.add(g)
        self.realized += 1
        return g

    def in_lieu(self, account: Account, security: Security, lots: Sequence[TaxLot]) -> Decimal:
        """Pay the account's fraction of a share of `security` (over `lots`) at the in-lieu price:
        a sale of that fraction from the most recently acquired lots. Returns the fraction."""
        price = self.action.lieu_price
        total = sum((Decimal(lot.quantity) for lot in lots), Decimal(0))
        frac = total - total.to_integral_value(rounding=ROUND_FLOOR)
        if price is None or frac <= 0:
            return Decimal(0)
        mult = Decimal(security.price_multiplier)
        proceeds_all = round_money(frac * Decimal(price) * mult, security.currency)
        left, left_proceeds = frac, proceeds_all
        for lot in sorted(lots, key=lambda x: (x.acquired, x.lot_ref), reverse=True):
            if left <= 0:
                break
            take = min(left, Decimal(lot.quantity))
            if take <= 0:
                continue
            left -= take
            proceeds = (
                left_proceeds if left <= 0 else round_money(proceeds_all * take / frac, security.currency)
            )
            left_proceeds -= proceeds
            self.realize(account, security, lot, take, proceeds, take * Decimal(lot.unit_cost) * mult,
                         f"cash in lieu of {take} {security.symbol} at {price}")  # fmt: skip
            remaining = Decimal(lot.quantity) - take
            if remaining == 0:
                # A lot this action created moments ago (a spin-off's new shares) is not in the
                # store yet: dropping it from the session is its deletion.
                if lot in self.session.new:
                    self.session.expunge(lot)
                else:
                    self.session.delete(lot)
            else:
                lot.quantity = remaining
        self.pay(account, security, proceeds_all, "in_lieu", f"cash in lieu of {frac} {security.symbol}")
        return frac
