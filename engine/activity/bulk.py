"""Book a file's cash-only lines in bulk: income, fees, deposits, withdrawals and FX conversions.

These lines touch no lots, so they need no per-line ORM work: the bookings are inserted in one
statement (ids returned in order), their cash movements in another, and each touched balance is
read once and moved by the sum of its movements. The postings are the same as the single-line
services write (engine.accounting.fxspot for flows and FX, engine.activity.post for income and
fees): deposits and withdrawals are cash kind "flow", settled on their date; FX legs and cash
with a later value date stay unsettled until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.accounting.balances import move_balances
from engine.accounting.errors import BookingError
from engine.accounting.settlement import fx_settle_date
from engine.accounting.tables import Booking, CashMovement
from engine.activity.checks import Checked
from engine.activity.post import Posted, source_ref
from engine.errors import NotFound
from engine.model.currency import round_money
from engine.store.bulk import table_of

CASH_KINDS = frozenset({"dividend", "interest", "fee", "deposit", "withdrawal", "fx"})
ZERO = Decimal(0)
PRICE = Decimal("1e-6")


@dataclass
class _Plan:
    """One line's booking row and its movements (without the booking id yet)."""

    booking: dict[str, Any]
    moves: list[dict[str, Any]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def _move(
    c: Checked, ccy: str, amount: Decimal, kind: str, settle: date, settled: bool, note: str
) -> dict[str, Any]:
    return dict(
        account_id=c.account.id, currency=ccy, amount=round_money(amount, ccy), kind=kind,
        trade_date=c.row.trade_date, settle_date=settle, settled=settled, note=note,
    )  # fmt: skip


def _plan(c: Checked, custodian: str) -> _Plan:
    r = c.row
    ref = source_ref(custodian, r.reference)
    settle = r.settle_date or r.trade_date
    common: dict[str, Any] = dict(
        source_ref=ref, account_id=c.account.id, security_id=c.security.id if c.security else None,
        currency=c.currency, trade_date=r.trade_date, settle_date=settle, commission=ZERO, fees=ZERO,
        replacement_used=ZERO, side=None, quantity=r.quantity, price=None, lot_ref=None,
    )  # fmt: skip
    ccy = c.currency or ""
    if r.kind in ("dividend", "interest"):
        assert c.gross is not None and c.withholding is not None and c.net is not None
        what = c.security.symbol if c.security else (r.description or "cash")
        plan = _Plan({**common, "kind": r.kind, "cash_amount": round_money(c.net, ccy)},
                     detail={"gross": str(c.gross), "withholding": str(c.withholding), "net": str(c.net)})  # fmt: skip
        done = settle <= r.trade_date
        plan.moves.append(
            _move(c, ccy, c.gross, r.kind, settle, done, f"{r.kind} {what} (custodian {r.reference})")
        )
        if c.withholding:
            plan.moves.append(
                _move(c, ccy, -c.withholding, "withholding", settle, done, f"withholding on {what}")
            )
        return plan
    if r.kind == "fee":
        assert c.net is not None
        plan = _Plan({**common, "kind": "fee", "cash_amount": -round_money(c.net, ccy)})
        plan.moves.append(
            _move(c, ccy, -c.net, "fee", settle, settle <= r.trade_date, r.description or "custodian fee")
        )
        return plan
    if r.kind in ("deposit", "withdrawal"):
        assert c.net is not None
        amount = c.net if r.kind == "deposit" else -c.net
        plan = _Plan({**common, "kind": "flow", "cash_amount": round_money(amount, ccy), "settle_date": r.trade_date,
                      "quantity": None})  # fmt: skip
        plan.moves.append(_move(c, ccy, amount, "flow", r.trade_date, True, "external flow"))
        return plan
    # fx: buy `currency`/`amount`, sell `counter_currency`/`counter_amount`; legs settle on the value date.
    assert r.amount is not None and r.counter_currency and r.counter_amount is not None
    sell = r.counter_currency
    try:
        value = r.settle_date or fx_settle_date(ccy, sell, r.trade_date)
    except NotFound as exc:
        raise BookingError(ref, "trade_date", str(exc)) from None
    plan = _Plan(
        {**common, "kind": "fx_spot", "side": "buy", "quantity": r.amount, "security_id": None,
         "price": (r.counter_amount / r.amount).quantize(PRICE), "cash_amount": round_money(r.amount, ccy),
         "settle_date": value},
        detail={"settle_date": value.isoformat()},
    )  # fmt: skip
    note = f"FX spot buy {r.amount} {ccy} / sell {r.counter_amount} {sell}"
    plan.moves.append(_move(c, ccy, r.amount, "fx", value, False, note))
    plan.moves.append(_move(c, sell, -r.counter_amount, "fx", value, False, note))
    return plan


def _balances(session: Session, moves: list[dict[str, Any]]) -> None:
    """Add each movement to its account's settled or unsettled balance (read once, written once)."""
    delta: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
    for m in moves:
        settled, unsettled = delta.get((m["account_id"], m["currency"]), (ZERO, ZERO))
        if m["settled"]:
            settled += m["amount"]
        else:
            unsettled += m["amount"]
        delta[(m["account_id"], m["currency"])] = (settled, unsettled)
    move_balances(session, delta)


def post_cash_lines(
    session: Session, lines: list[Checked], custodian: str
) -> tuple[list[Posted], list[BookingError]]:
    """Book every cash-only line; (what each booked, in order) or the errors found (nothing booked)."""
    plans: list[_Plan] = []
    errors: list[BookingError] = []
    for c in lines:
        try:
            plans.append(_plan(c, custodian))
        except BookingError as exc:
            exc.row = c.row.row  # type: ignore[attr-defined]
            errors.append(exc)
    if errors or not plans:
        return [], errors
    ids = list(
        session.scalars(
            insert(table_of(Booking)).returning(table_of(Booking).c.id, sort_by_parameter_order=True),
            [p.booking for p in plans],
        )
    )
    moves = []
    for booking_id, p in zip(ids, plans, strict=True):
        for m in p.moves:
            m["booking_id"] = booking_id
            moves.append(m)
    session.execute(insert(table_of(CashMovement)), moves)
    _balances(session, moves)
    session.flush()
    return [Posted(i, p.detail) for i, p in zip(ids, plans, strict=True)], []
