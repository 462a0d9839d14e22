"""What each kind of corporate action does to lots and cash, booked in the caller's transaction.

Every lot keeps its acquisition date (and any wash-sale adjustment, which lives in its unit cost
and start date, so it follows the shares: a split divides the disallowed loss per share by the
ratio, a merger or spin-off carries it into the new shares' basis).

- split, reverse split, stock dividend: quantity x factor, unit cost / factor (a stock dividend
  of r new per share held is a split of 1 + r); fractions paid in lieu when a price is given.
- merger: cash (a sale of every lot at `amount` per share), stock (each lot becomes a lot of the
  acquirer, ratio_new per ratio_old, same reference, date and basis), or both: the basis splits
  between the cash and the new shares by `allocation` (fraction to the cash) or, without it, by
  fair value (amount against ratio x new_price); the cash part is realized per lot.
- spin-off: each parent lot gives a new lot of the spun-off company (reference `<lot>-S<id>`,
  the parent's acquisition date and FX) with `allocation` of its basis; the parent keeps the rest.
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
            _cash_out(ledger, sec, groups, Decimal(action.amount or 0), alloc=Decimal(1), keep=None)
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
        _cash_out(ledger, sec, groups, cash_ps, alloc=Decimal(1), keep=None)
        return
    new = _security(ledger.session, a, new=True)
    if new.currency != sec.currency:
        raise BookingError(
            a.ref, "new_security", f"{new.symbol} trades in {new.currency}, not {sec.currency}"
        )
    ratio = _ratio(a)
    if cash_ps == 0:
        alloc = Decimal(0)
    elif a.allocation is not None:
        alloc = Decimal(a.allocation)
    else:
        alloc = cash_ps / (cash_ps + ratio * Decimal(a.new_price or 0))
    _cash_out(ledger, sec, groups, cash_ps, alloc=alloc, keep=(new, ratio))


def _cash_out(
    ledger: Ledger,
    sec: Security,
    groups: dict[int, list[TaxLot]],
    per_share: Decimal,
    *,
    alloc: Decimal,
    keep: tuple[Security, Decimal] | None,
) -> None:
    """Pay `per_share` on every lot, realizing it against `alloc` of the lot's basis; the rest of
    the basis goes to `keep` (new security, ratio) or, without it, the lot is gone (alloc = 1)."""
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
            basis = qty * Decimal(lot.unit_cost) * mult
            proceeds = left if i == len(lots) - 1 else round_money(total * qty / held, sec.currency)
            left -= proceeds
            cost = basis if keep is None else round_money(basis * alloc, sec.currency)
            if keep is None or alloc > 0:
                ledger.realize(account, sec, lot, (qty * alloc).quantize(UNIT), proceeds, cost,
                               f"{what} {per_share} per share")  # fmt: skip
            if keep is None:
                ledger.session.delete(lot)
                continue
            new, ratio = keep
            lot.security_id = new.id
            lot.quantity = (qty * ratio).quantize(UNIT)
            lot.unit_cost = ((basis - cost) / (lot.quantity * Decimal(new.price_multiplier))).quantize(UNIT)
        ledger.pay(
            account, sec, total, "merger" if a.kind == "merger" else "delisting", f"{what} {per_share}/sh"
        )
        if keep is not None:
            ledger.in_lieu(account, keep[0], lots)


def _spinoff(ledger: Ledger, sec: Security, groups: dict[int, list[TaxLot]]) -> None:
    a = ledger.action
    new = _security(ledger.session, a, new=True)
    if new.currency != sec.currency:
        raise BookingError(
            a.ref, "new_security", f"{new.symbol} trades in {new.currency}, not {sec.currency}"
        )
    ratio, pct = _ratio(a), Decimal(a.allocation or 0)
    mult, mult_new = Decimal(sec.price_multiplier), Decimal(new.price_multiplier)
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
                security_id=new.id,
                lot_ref=f"{lot.lot_ref}-S{a.id}"[:40],
                quantity=new_qty,
                unit_cost=(to_new / (new_qty * mult_new)).quantize(UNIT),
                acquired=lot.acquired,
                fx_rate=lot.fx_rate,
            )
            ledger.session.add(child)
            made.append(child)
        ledger.in_lieu(account, new, made)
