"""Read booked activity: `activity list` and the desktop filter lines by account, dates and kind."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.activity.tables import ActivityFile, ActivityLine
from engine.store.accounts import Account
from engine.store.reference import Security


def list_activity(
    session: Session,
    *,
    account: str | None = None,
    start: date | None = None,
    end: date | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Booked lines (trade date, then id), each with its file, account code, symbol and booking."""
    q = (
        select(ActivityLine, Account.code, Security.symbol, ActivityFile.file_name)
        .join(Account, Account.id == ActivityLine.account_id)
        .join(ActivityFile, ActivityFile.id == ActivityLine.file_id)
        .outerjoin(Security, Security.id == ActivityLine.security_id)
        .order_by(ActivityLine.trade_date, ActivityLine.id)
    )
    if account:
        q = q.where(Account.code == account)
    if start:
        q = q.where(ActivityLine.trade_date >= start)
    if end:
        q = q.where(ActivityLine.trade_date <= end)
    if kind:
        q = q.where(ActivityLine.kind == kind)
    if limit:
        q = q.limit(limit)
    out = []
    for line, code, symbol, file_name in session.execute(q):
        out.append(
            {
                "id": line.id, "custodian": line.custodian, "reference": line.reference, "file": file_name,
                "row": line.row, "account": code, "kind": line.kind, "external": line.external,
                "trade_date": line.trade_date, "settle_date": line.settle_date, "security": symbol,
                "currency": line.currency, "quantity": line.quantity, "price": line.price,
                "commission": line.commission, "amount": line.amount, "gross": line.gross,
                "withholding": line.withholding, "counter_currency": line.counter_currency,
                "counter_amount": line.counter_amount, "booking_id": line.booking_id, "detail": line.detail,
            }
        )  # fmt: skip
    return out
