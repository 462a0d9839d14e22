"""Book one checked activity line into the ledger: lots, realized gains and cash, as a `Booking`.

Trades away go through the OMS's own booker (engine.accounting.booking.LedgerBooker: lots relieved
by the account's method, realized gains, wash sales, unsettled cash to the settle date). Deposits
and withdrawals are external cash flows (cash kind "flow"), FX conversions two cash legs
(engine.accounting.fxspot). Income posts its gross and its withholding apart; fees post one debit.
Cash that the custodian reports with a value date after the booking date stays unsettled until
then. A transfer in opens a lot with the given cost basis and the ORIGINAL acquisition date (the
holding period runs on); a transfer out relieves lots by the account's method without a gain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.booking import UNIT, LedgerBooker
from engine.accounting.cash import post_cash
from engine.accounting.errors import BookingError
from engine.accounting.fxspot import book_cash_flow, book_fx_spot
from engine.accounting.relief import OpenLot, ReliefError, choose_lots
from engine.accounting.rules import long_after_months
from engine.accounting.tables import Booking, CashMovement
from engine.activity.checks import Checked
from engine.activity.lots import LotNamingError, picks_for
from engine.activity.reversals import Original
from engine.activity.trades_bulk import BulkTradeBooker
from engine.errors import NotFound, Problem
from engine.model.currency import round_money
from engine.model.enums import LotRelief, Side
from engine.model.trades import LotPick, TradeFill
from engine.pricing.fx import FxTable
from engine.store.accounts import Account
from engine.store.positions import TaxLot

ZERO = Decimal(0)


@dataclass
class Posted:
    """What one line booked: the booking and any lots it opened or relieved."""

    booking_id: int
    detail: dict[str, Any] = field(default_factory=dict)


def source_ref(custodian: str, reference: str) -> str:
    """The ledger's source reference of an activity line (bookings are unique on it)."""
    return f"ACT:{custodian}:{reference}"


class Poster:
    """Books checked lines for one file; keeps one booker (and its FX cache) across the file."""

    def __init__(self, session: Session, custodian: str, fx: FxTable | None = None) -> None:
        """`fx`: the rates around the file's trade dates, read once for every trade of the file."""
        self.session = session
        self.custodian = custodian
        self.booker = LedgerBooker(fx)
        self.fx = fx
        self.originals: dict[str, Original] = {}  # reversal reference -> the line it cancels
        self.booked: dict[str, int] = {}  # reference -> booking id of this file's lines booked so far

    def post(self, c: Checked) -> Posted:
        """Book one line in the caller's transaction; BookingError names the field and reason."""
        kind = c.row.kind
        handler = {
            "buy": self._trade, "sell": self._trade, "dividend": self._income, "interest": self._income,
            "fee": self._fee, "deposit": self._flow, "withdrawal": self._flow, "fx": self._fx,
            "transfer_in": self._transfer_in, "transfer_out": self._transfer_out, "reversal": self._reversal,
        }[kind]  # fmt: skip
        return handler(c, source_ref(self.custodian, c.row.reference))

    def _specific(self, c: Checked, ref: str, rows: list[TaxLot] | None = None) -> tuple[LotPick, ...] | None:
        """The lots a sale or transfer out names, when the account relieves specific lots (None
        otherwise: the account's method chooses); refused when the line names none."""
        account = self.session.get(Account, c.account.id)
        assert account is not None and c.security is not None and c.row.quantity is not None
        if LotRelief(account.lot_relief) != LotRelief.SPECIFIC:
            return None
        if not c.row.lots:
            raise BookingError(ref, "lots", f"account {account.code} relieves specific lots: the line must name "
                               "them (lot references, the custodian's lot ids or acquisition dates)")  # fmt: skip
        if rows is None:
            rows = self._open_lots(c)
        try:
            return picks_for(self.session, source_ref(self.custodian, ""), account.id, c.security.symbol, rows,
                             c.row.lots, c.row.quantity)  # fmt: skip
        except LotNamingError as exc:
            raise BookingError(ref, "lots", str(exc)) from None

    def _open_lots(self, c: Checked) -> list[TaxLot]:
        assert c.security is not None
        return list(
            self.session.scalars(
                select(TaxLot)
                .where(TaxLot.account_id == c.account.id, TaxLot.security_id == c.security.id)
                .order_by(TaxLot.id)
            )
        )

    def _trade(self, c: Checked, ref: str) -> Posted:
        result = self.booker.book(self.session, self.fill(c))
        realized = [(g.lot_ref, g.quantity, g.gain_base, g.term) for g in result.realized]
        return Posted(
            result.booking_id,
            trade_detail(result.cash_amount, result.settle_date, result.lot_opened, realized),
        )

    def fill(self, c: Checked) -> TradeFill:
        """The trade away as the booker takes it."""
        r = c.row
        assert c.security is not None and r.quantity is not None and r.price is not None
        ref = source_ref(self.custodian, r.reference)
        picks = self._specific(c, ref) if r.kind == "sell" else None
        return TradeFill(
            account=c.account.code, symbol=c.security.symbol, side=Side(r.kind), quantity=r.quantity,
            price=r.price, trade_date=r.trade_date, source_ref=ref, settle_date=r.settle_date,
            commission=r.commission, lots=picks or (),
        )  # fmt: skip

    def _booking(self, c: Checked, ref: str, kind: str, cash: Decimal, **kw: Any) -> Booking:
        r = c.row
        b = Booking(
            source_ref=ref, kind=kind, account_id=c.account.id, security_id=c.security.id if c.security else None,
            currency=c.currency, cash_amount=cash, trade_date=r.trade_date, settle_date=r.settle_date or r.trade_date,
            commission=ZERO, fees=ZERO, replacement_used=ZERO, **kw,
        )  # fmt: skip
        self.session.add(b)
        self.session.flush()
        return b

    def _cash(self, c: Checked, booking: Booking, amount: Decimal, kind: str, note: str) -> None:
        r = c.row
        settle = r.settle_date or r.trade_date
        assert c.currency is not None
        post_cash(
            self.session, account_id=c.account.id, currency=c.currency, amount=amount, kind=kind,
            trade_date=r.trade_date, settle_date=settle, booking_id=booking.id, note=note,
            settled=settle <= r.trade_date,
        )  # fmt: skip

    def _income(self, c: Checked, ref: str) -> Posted:
        assert c.gross is not None and c.withholding is not None and c.net is not None and c.currency
        what = c.security.symbol if c.security else (c.row.description or "cash")
        b = self._booking(c, ref, c.row.kind, round_money(c.net, c.currency), quantity=c.row.quantity)
        self._cash(c, b, c.gross, c.row.kind, f"{c.row.kind} {what} (custodian {c.row.reference})")
        if c.withholding:
            self._cash(c, b, -c.withholding, "withholding", f"withholding on {what}")
        return Posted(b.id, {"gross": str(c.gross), "withholding": str(c.withholding), "net": str(c.net)})

    def _reversal(self, c: Checked, ref: str) -> Posted:
        """The opposite of every cash movement of the original's booking, on the reversal's date."""
        r = c.row
        o = self.originals[r.reference]
        bid = o.booking_id if o.booking_id is not None else self.booked[o.reference]
        original = self.session.get(Booking, bid)
        assert original is not None
        moves = self.session.scalars(
            select(CashMovement).where(CashMovement.booking_id == bid).order_by(CashMovement.id)
        ).all()
        b = self._booking(c, ref, "reversal", -Decimal(original.cash_amount))
        b.security_id, b.currency = original.security_id, original.currency
        settle = r.settle_date or r.trade_date
        cash: dict[str, Decimal] = {}
        for m in moves:
            post_cash(
                self.session, account_id=m.account_id, currency=m.currency, amount=-Decimal(m.amount), kind=m.kind,
                trade_date=r.trade_date, settle_date=settle, booking_id=b.id, settled=settle <= r.trade_date,
                note=f"reversal of {o.reference} (custodian {r.reference})",
            )  # fmt: skip
            cash[m.currency] = cash.get(m.currency, ZERO) - Decimal(m.amount)
        self.session.flush()
        return Posted(b.id, {"reverses": o.reference, "booking_reversed": bid,
                             "cash": {k: str(v) for k, v in sorted(cash.items())}})  # fmt: skip

    def _fee(self, c: Checked, ref: str) -> Posted:
        assert c.net is not None and c.currency
        b = self._booking(c, ref, "fee", -round_money(c.net, c.currency))
        self._cash(c, b, -c.net, "fee", c.row.description or "custodian fee")
        return Posted(b.id)

    def _flow(self, c: Checked, ref: str) -> Posted:
        assert c.net is not None and c.currency
        sign = 1 if c.row.kind == "deposit" else -1
        done = book_cash_flow(
            self.session, account=c.account.code, currency=c.currency, amount=sign * c.net,
            on=c.row.trade_date, source_ref=ref,
        )  # fmt: skip
        return Posted(done.booking_id)

    def _fx(self, c: Checked, ref: str) -> Posted:
        r = c.row
        assert c.currency and r.amount is not None and r.counter_currency and r.counter_amount is not None
        done = book_fx_spot(
            self.session, account=c.account.code, buy_currency=c.currency, buy_amount=r.amount,
            sell_currency=r.counter_currency, sell_amount=r.counter_amount, trade_date=r.trade_date,
            source_ref=ref, settle_date=r.settle_date,
        )  # fmt: skip
        return Posted(done.booking_id, {"settle_date": done.settle_date.isoformat()})

    def _acquired_rate(self, c: Checked, ref: str, on: date) -> Decimal:
        assert c.security is not None
        if c.row.fx_rate is not None:
            return c.row.fx_rate
        if c.security.currency == c.account.base_currency:
            return Decimal(1)
        try:
            return FxTable.load(self.session, start=on, end=on).rate(
                c.security.currency, c.account.base_currency, on
            )
        except NotFound as exc:
            raise BookingError(ref, "fx_rate", f"give the cost basis' FX rate: {exc}") from None

    def _transfer_in(self, c: Checked, ref: str) -> Posted:
        r = c.row
        assert c.security is not None and r.quantity is not None and r.cost_basis is not None and r.acquired
        rate = self._acquired_rate(c, ref, r.acquired)
        b = self._booking(c, ref, "transfer_in", ZERO, side="in", quantity=r.quantity)
        b.lot_ref = f"T{b.id}"
        unit_cost = (r.cost_basis / (r.quantity * c.security.multiplier)).quantize(UNIT)
        self.session.add(
            TaxLot(
                account_id=c.account.id, security_id=c.security.id, lot_ref=b.lot_ref, quantity=r.quantity,
                unit_cost=unit_cost, acquired=r.acquired, fx_rate=rate,
            )
        )  # fmt: skip
        self.session.flush()
        return Posted(
            b.id, {"lot_opened": b.lot_ref, "acquired": r.acquired.isoformat(), "unit_cost": str(unit_cost)}
        )

    def _transfer_out(self, c: Checked, ref: str) -> Posted:
        r = c.row
        assert c.security is not None and r.quantity is not None
        rows = self._open_lots(c)
        account = self.session.get(Account, c.account.id)
        assert account is not None
        picks = self._specific(c, ref, rows)
        try:
            chosen = choose_lots(
                [OpenLot(x.lot_ref, Decimal(x.quantity), Decimal(x.unit_cost), x.acquired, Decimal(x.fx_rate)) for x in rows],
                r.quantity, LotRelief(account.lot_relief), price=r.price or ZERO, sold=r.trade_date,
                long_after_months=long_after_months(self.session, account.tax_jurisdiction), picks=picks or (),
            )  # fmt: skip
        except (ReliefError, ValueError) as exc:
            raise BookingError(ref, "quantity", str(exc)) from None
        b = self._booking(c, ref, "transfer_out", ZERO, side="out", quantity=r.quantity)
        by_ref = {x.lot_ref: x for x in rows}
        relieved = []
        for lot, qty in chosen:
            row = by_ref[lot.ref]
            relieved.append({"lot": lot.ref, "quantity": str(qty), "acquired": lot.acquired.isoformat(),
                             "unit_cost": str(lot.unit_cost)})  # fmt: skip
            left = Decimal(row.quantity) - qty
            if left == 0:
                self.session.delete(row)
            else:
                row.quantity = left
        self.session.flush()
        return Posted(b.id, {"lots_relieved": relieved})


def trade_detail(cash: Decimal, settle: date, lot_opened: str | None, realized: Any) -> dict[str, Any]:
    """A trade line's detail: cash, settle date, the lot opened, the lots relieved with gains."""
    detail: dict[str, Any] = {"cash": str(cash), "settle_date": settle.isoformat()}
    if lot_opened:
        detail["lot_opened"] = lot_opened
    if realized:
        detail["realized"] = [
            {"lot": lot, "quantity": str(q), "gain_base": str(g), "term": term}
            for lot, q, g, term in realized
        ]
    return detail


def post_trades(
    poster: Poster, lines: list[Checked], problems: list[Problem]
) -> list[tuple[Checked, Posted]]:
    """Book a run of trades away set-wise (engine.activity.trades_bulk: the rows the single-line
    path writes, in order); a refused line is added to `problems` (row, field, reason)."""

    fills: list[TradeFill] = []
    kept: list[Checked] = []
    for c in lines:  # a sale that must name its lots and does not is refused here, with its row
        try:
            fills.append(poster.fill(c))
            kept.append(c)
        except BookingError as exc:
            problems.append(Problem(c.row.row, exc.field, exc.reason))

    def refused(n: int, exc: BookingError) -> None:
        problems.append(Problem(kept[n].row.row, exc.field, exc.reason))

    booked = BulkTradeBooker(poster.session, poster.booker, poster.fx).book_all(fills, on_error=refused)
    return [
        (c, Posted(b.booking_id, trade_detail(b.cash_amount, b.settle_date, b.lot_opened, b.realized)))
        for c, b in zip(kept, booked, strict=True)
        if b is not None
    ]
