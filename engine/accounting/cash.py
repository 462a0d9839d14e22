"""The cash ledger: one movement per posting, and per-currency settled/unsettled balances.

A movement is unsettled until its settle date; `settle_due` moves what has come due into the
settled balance. Buying power counts settled cash less pending debits (a cash account may not
spend sale proceeds that have not settled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.accounting.balances import move_balances
from engine.accounting.tables import CashMovement
from engine.model.currency import round_money
from engine.store.positions import CashBalance


def _balance(session: Session, account_id: int, currency: str) -> CashBalance:
    bal = session.get(CashBalance, (account_id, currency))
    if bal is None:
        bal = CashBalance(account_id=account_id, currency=currency, settled=Decimal(0), unsettled=Decimal(0))
        session.add(bal)
    return bal


def ensure_balances(session: Session, account_ids: list[int], currency: str) -> None:
    """Load (or create, flushed) the balances of many accounts in one currency, so a loop of
    `post_cash` finds each in the session without a query (and without an autoflush each)."""
    have: set[int] = set()
    for i in range(0, len(account_ids), 500):
        chunk = account_ids[i : i + 500]
        for bal in session.scalars(
            select(CashBalance).where(CashBalance.account_id.in_(chunk), CashBalance.currency == currency)
        ):
            have.add(bal.account_id)
    missing = [a for a in dict.fromkeys(account_ids) if a not in have]
    for a in missing:
        session.add(CashBalance(account_id=a, currency=currency, settled=Decimal(0), unsettled=Decimal(0)))
    if missing:
        session.flush()


def post_cash(
    session: Session,
    *,
    account_id: int,
    currency: str,
    amount: Decimal,
    kind: str,
    trade_date: date,
    settle_date: date,
    booking_id: int | None,
    note: str | None = None,
    settled: bool = False,
) -> CashMovement:
    """Record one movement (rounded to the currency's minor unit) and update the balance."""
    amount = round_money(amount, currency)
    mv = CashMovement(
        account_id=account_id,
        booking_id=booking_id,
        currency=currency,
        amount=amount,
        kind=kind,
        trade_date=trade_date,
        settle_date=settle_date,
        settled=settled,
        note=note,
    )
    session.add(mv)
    bal = _balance(session, account_id, currency)
    if settled:
        bal.settled = Decimal(bal.settled) + amount
    else:
        bal.unsettled = Decimal(bal.unsettled or 0) + amount
    return mv


def settle_due(session: Session, as_of: date, account_ids: list[int] | None = None) -> int:
    """Move every unsettled movement with settle date on or before `as_of` to settled.

    Set-wise: the due movements are read once (plain rows), each balance moves by their sum
    (Decimal, as one by one; engine.accounting.balances.move_balances) and one UPDATE marks them
    settled; movements already in the session are updated with it (synchronize_session)."""
    session.flush()
    cond = [CashMovement.settled.is_(False), CashMovement.settle_date <= as_of]
    if account_ids is not None:
        cond.append(CashMovement.account_id.in_(account_ids))
    delta: dict[tuple[int, str], Decimal] = {}
    n = 0
    for account_id, currency, amount in session.execute(
        select(CashMovement.account_id, CashMovement.currency, CashMovement.amount).where(*cond)
    ):
        key = (int(account_id), str(currency))
        delta[key] = delta.get(key, Decimal(0)) + Decimal(amount)
        n += 1
    if not n:
        return 0
    move_balances(session, {key: (amount, -amount) for key, amount in delta.items()})
    session.execute(
        update(CashMovement).where(*cond).values(settled=True).execution_options(synchronize_session="fetch")
    )
    session.flush()
    return n


@dataclass(frozen=True, slots=True)
class CashPosition:
    """One currency of one account: settled, unsettled, trade-date total and buying power."""

    currency: str
    settled: Decimal
    unsettled: Decimal
    pending_debits: Decimal

    @property
    def trade_date_balance(self) -> Decimal:
        return self.settled + self.unsettled

    @property
    def buying_power(self) -> Decimal:
        return self.settled + self.pending_debits


def cash_positions(session: Session, account_id: int) -> list[CashPosition]:
    """Every currency the account holds, with buying power (settled less pending debits)."""
    debits: dict[str, Decimal] = {}
    for ccy, amount in session.execute(
        select(CashMovement.currency, CashMovement.amount).where(
            CashMovement.account_id == account_id, CashMovement.settled.is_(False), CashMovement.amount < 0
        )
    ):
        debits[ccy] = debits.get(ccy, Decimal(0)) + Decimal(amount)
    out = []
    for bal in session.scalars(
        select(CashBalance).where(CashBalance.account_id == account_id).order_by(CashBalance.currency)
    ):
        out.append(
            CashPosition(
                currency=bal.currency,
                settled=Decimal(bal.settled),
                unsettled=Decimal(bal.unsettled or 0),
                pending_debits=debits.get(bal.currency, Decimal(0)),
            )
        )
    return out
