"""What each kind of corporate action does to lots and cash, booked in the caller's transaction.

Every lot keeps its acquisition date (and any wash-sale adjustment, which lives in its unit cost
and start date, so it follows the shares: a split divides the disallowed loss per share by the
ratio, a merger or spin-off carries it into the new shares' basis).

- split, reverse split, stock dividend: quantity x factor, unit cost / factor (a stock dividend
  of r new per share held is a split of 1 + r); fractions paid in lieu when a price is given.
- merger: cash (a sale of every lot at `amount` per share), stock (each lot becomes a lot of the
  acquirer, ratio_new per ratio_old, same reference, date and basis), or both: the cash is boot
  (IRC 356: the lot's realised gain is recognised up to the cash, a loss is not; the new shares
  carry basis - cash + gain recognised), the new shares valued at new_price, else by the issuer's
  cash fraction `allocation` of the consideration.
- spin-off: each parent lot gives a new lot of the spun-off company (reference `<lot>-S<id>`,
  the parent's acquisition date and FX) with `allocation` of its basis; the parent keeps the rest.
- into a security of another currency (merger, spin-off): the new lot keeps the basis in the
  account's base currency, restated in its own currency at the ex date's FX (Ledger.carry).
- delisting: every lot removed at `amount` per share (zero when not given): a realized loss.
- dividend and rename: engine.accounting.corporate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.accounting.corporate import book_dividend, held_before, rename
from engine.accounting.errors import BookingError
from engine.accounting.tables import CorporateAction
from engine.corporate.boot import boot
from engine.corporate.ledger import UNIT, Ledger
from engine.model.currency import round_money
from engine.store.positions import TaxLot
from engine.store.reference import Security


@dataclass
class Outcome:
    """What booking one action did: accounts and lots touched, gains realized, cash by currency."""

    ref: str
    kind: str
    accounts: int = 0
    lots: int = 0
    realized: int = 0
    cash: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"ref": self.ref, "kind": self.kind, "accounts": self.accounts, "lots": self.lots,
                "realized": self.realized, "cash": {c: str(v) for c, v in sorted(self.cash.items())}}  # fmt: skip


def _by_account(lots: list[TaxLot]) -> dict[int, list[TaxLot]]:
    out: dict[int, list[TaxLot]] = defaultdict(list)
    for lot in lots:
        out[lot.account_id].append(lot)
    return out


def _security(session: Session, action: CorporateAction, new: bool = False) -> Security:
    sid = action.new_security_id if new else action.security_id
    sec = session.get(Security, sid) if sid is not None else None
    if sec is None:
        raise BookingError(action.ref, "new_security" if new else "security", "no such security")
    return sec


def _ratio(action: CorporateAction) -> Decimal:
    assert action.ratio_new is not None and action.ratio_old is not None
    return Decimal(action.ratio_new) / Decimal(action.ratio_old)


def book_action(session: Session, action: CorporateAction) -> Outcome:
    """Book `action` into lots and cash (no status change: engine.corporate.book does that)."""
    sec = _security(session, action)
    out = Outcome(action.ref, action.kind)
    if action.kind == "dividend":
        res = book_dividend(session, sec, action.ref, action.ex_date, action.pay_date, action.amount)
        out.accounts = len(res.payments)
        for _, gross, tax in res.payments:
            out.cash[sec.currency] = out.cash.get(sec.currency, Decimal(0)) + gross - tax
        return out
    if action.kind == "rename":
        rename(session, sec, action.ref, action.new_symbol, action.new_isin)
        return out
    ledger = Ledger(session, action)
    groups = _by_account(held_before(session, sec.id, action.ex_date))
    ledger.prepare(sec, {a: sum((Decimal(x.quantity) for x in g), Decimal(0)) for a, g in groups.items()})
    with session.no_autoflush:  # every row is in the session: one flush at the end, not one per query
        if action.kind in ("split", "stock_dividend"):
            factor = _ratio(action) + (1 if action.kind == "stock_dividend" else 0)
            _resize(ledger, sec, groups, factor)
        elif action.kind == "merger":
            _merger(ledger, sec, groups)
        elif action.kind == "spinoff":
            _spinoff(ledger, sec, groups)
        elif action.kind == "delisting":
            _cash_out(ledger, sec, groups, Decimal(action.amount or 0))
        else:
            raise BookingError(action.ref, "kind", f"unknown kind {action.kind!r}")
    session.flush()
    out.accounts = len(groups)
    out.lots = sum(len(g) for g in groups.values())
    out.realized, out.cash = ledger.realized, ledger.cash
    return out


def _resize(ledger: Ledger, sec: Security, groups: dict[int, list[TaxLot]], factor: Decimal) -> None:
    for account_id, lots in groups.items():
        account = ledger.account(account_id)
        ledger.booking(account, sec, sum((Decimal(x.quantity) for x in lots), Decimal(0)))
        for lot in lots:
            qty = Decimal(lot.quantity)
            lot.quantity = (qty * factor).quantize(UNIT)
            lot.unit_cost = (qty * Decimal(lot.unit_cost) / lot.quantity).quantize(UNIT)
        ledger.in_lieu(account, sec, lots)


def _merger(ledger: Ledger, sec: Security, groups: dict[int, list[TaxLot]]) -> None:
    a = ledger.action
    cash_ps = Decimal(a.amount or 0)
    if a.ratio_new is None:  # all cash
        _cash_out(ledger, sec, groups, cash_ps)
        return
    new = _security(ledger.session, a, new=True)
    ratio = _ratio(a)
    # The value of the new shares per old share, in the old currency: the published new price
    # (at the ex date's FX), else what the issuer's cash fraction of the consideration implies.
    stock_ps = Decimal(0)
    if cash_ps > 0:
        if a.new_price is not None and a.new_price > 0:
            to_old = ledger.fx(new.currency, sec.currency, a.ex_date)
            stock_ps = ratio * Decimal(a.new_price) * Decimal(new.price_multiplier) * to_old
        elif a.allocation is not None and a.allocation > 0:
            stock_ps = cash_ps * Decimal(sec.price_multiplier) * (1 / Decimal(a.allocation) - 1)
        else:
            raise BookingError(a.ref, "allocation", "the value of the new shares is unknown: give new_price")
    _exchange(ledger, sec, groups, cash_ps, stock_ps, (new, ratio))


def _exchange(
    ledger: Ledger,
    sec: Security,
    groups: dict[int, list[TaxLot]],
    cash_ps: Decimal,
    stock_ps: Decimal,
    keep: tuple[Security, Decimal],
) -> None:
    """Each lot becomes a lot of `keep` (new security, ratio) under the same reference and date;
    cash of `cash_ps` per share is boot: the lot's realised gain is recognised up to it, a loss is
    not (engine.corporate.boot), and the new shares carry basis - cash + gain recognised."""
    new, ratio = keep
    mult = Decimal(sec.price_multiplier)
    for account_id, lots in groups.items():
        account = ledger.account(account_id)
        held = sum((Decimal(x.quantity) for x in lots), Decimal(0))
        ledger.booking(account, sec, held)
        total = round_money(held * cash_ps * mult, sec.currency)
        left = total
        for i, lot in enumerate(lots):
            qty = Decimal(lot.quantity)
            basis = qty * Decimal(lot.unit_cost) * mult
            cash = left if i == len(lots) - 1 else round_money(total * qty / held, sec.currency)
            left -= cash
            stock = round_money(qty * stock_ps, sec.currency)
            b = boot(basis, cash, stock)
            if cash > 0:
                recognised = round_money(b.recognised, sec.currency)
                note = f"merger cash {cash_ps} per share: realised {round_money(b.realised, sec.currency)}"
                if b.realised < 0:
                    note += ", a loss not recognised (IRC 356(c))"
                elif recognised < round_money(b.realised, sec.currency):
                    note += ", recognised up to the cash (IRC 356(a))"
                share = (qty * cash / (cash + stock)).quantize(UNIT)
                ledger.realize(account, sec, lot, share, cash, cash - recognised, note)
                carried = basis - cash + recognised
            else:
                carried = basis
            ledger.carry(lot, sec, new, (qty * ratio).quantize(UNIT), carried, account.base_currency)
        ledger.pay(account, sec, total, "merger", f"merger cash {cash_ps}/sh")
        ledger.in_lieu(account, new, lots)


def _cash_out(ledger: Ledger, sec: Security, groups: dict[int, list[TaxLot]], per_share: Decimal) -> None:
    """Pay `per_share` on every lot, a sale of the whole lot (an all-cash merger, a delisting)."""
    a = ledger.action
    mult = Decimal(sec.price_multiplier)
    what = "delisted" if a.kind == "delisting" else "merger cash"
    for account_id, lots in groups.items():
        account = ledger.account(account_id)
        held = sum((Decimal(x.quantity) for x in lots), Decimal(0))
        ledger.booking(account, sec, held)
        total = round_money(held * per_share * mult, sec.currency)
        left = total
        for i, lot in enumerate(lots):
            qty = Decimal(lot.quantity)
            proceeds = left if i == len(lots) - 1 else round_money(total * qty / held, sec.currency)
            left -= proceeds
            ledger.realize(account, sec, lot, qty, proceeds, qty * Decimal(lot.unit_cost) * mult,
                           f"{what} {per_share} per share")  # fmt: skip
            ledger.session.delete(lot)
        ledger.pay(
            account, sec, total, "merger" if a.kind == "merger" else "delisting", f"{what} {per_share}/sh"
        )


def _spinoff(ledger: Ledger, sec: Security, groups: dict[int, list[TaxLot]]) -> None:
    a = ledger.action
    new = _security(ledger.session, a, new=True)
    ratio, pct = _ratio(a), Decimal(a.allocation or 0)
    mult = Decimal(sec.price_multiplier)
    for account_id, lots in groups.items():
        account = ledger.account(account_id)
        ledger.booking(account, sec, sum((Decimal(x.quantity) for x in lots), Decimal(0)))
        made = []
        for lot in lots:
            qty = Decimal(lot.quantity)
            basis = qty * Decimal(lot.unit_cost) * mult
            new_qty = (qty * ratio).quantize(UNIT)
            if new_qty <= 0:  # too few shares for a millionth of a new one: nothing to carry
                continue
            to_new = round_money(basis * pct, sec.currency)
            lot.unit_cost = ((basis - to_new) / (qty * mult)).quantize(UNIT)
            child = TaxLot(
                account_id=account_id,
                security_id=sec.id,
                lot_ref=f"{lot.lot_ref}-S{a.id}"[:40],
                quantity=qty,
                unit_cost=lot.unit_cost,
                acquired=lot.acquired,
                fx_rate=lot.fx_rate,
            )
            ledger.carry(child, sec, new, new_qty, to_new, account.base_currency)
            ledger.session.add(child)
            made.append(child)
        ledger.in_lieu(account, new, made)
