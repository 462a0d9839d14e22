"""Block allocations as the allocations panel shows them: each block's fills given to its children
(oms_allocations), one row per child, with account, quantity, average price and booking state, and
the block's FIX allocation instruction (its AllocID, status and the broker's reason if rejected);
and the instructions themselves as `workstation orders allocations` lists them."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Float, cast, func, or_, select
from sqlalchemy.orm import aliased

from engine.oms.tables import Allocation, AllocInstruction, Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security

ALLOCATION_KEYS = [
    "id",
    "block",
    "block_id",
    "child",
    "account",
    "symbol",
    "side",
    "quantity",
    "avg_px",
    "currency",
    "block_qty",
    "block_filled",
    "block_avg_px",
    "trade_date",
    "settle_date",
    "booked",
    "source_ref",
    "alloc_id",
    "alloc_status",
    "alloc_reason",
]


def allocations(database: Database, order_ids: list[int] | None = None) -> pd.DataFrame:
    """Every allocation (or those of the blocks / children in `order_ids`), block order then child."""
    block = aliased(Order)
    child = aliased(Order)
    latest = (
        select(AllocInstruction.block_id, func.max(AllocInstruction.id).label("id"))
        .group_by(AllocInstruction.block_id)
        .subquery()
    )
    ins = aliased(AllocInstruction)
    q = (
        select(
            Allocation.id,
            block.cl_ord_id.label("block"),
            Allocation.block_id,
            child.cl_ord_id.label("child"),
            Account.code,
            Security.symbol,
            child.side.label("side"),
            cast(Allocation.quantity, Float).label("quantity"),
            cast(Allocation.avg_px, Float).label("avg_px"),
            block.currency.label("currency"),
            cast(block.quantity, Float).label("block_qty"),
            cast(block.cum_qty, Float).label("block_filled"),
            cast(block.avg_px, Float).label("block_avg_px"),
            Allocation.trade_date,
            Allocation.settle_date,
            Allocation.booked_at,
            Allocation.source_ref,
            ins.alloc_id,
            ins.status,
            ins.reject_text,
        )
        .join(block, block.id == Allocation.block_id)
        .join(child, child.id == Allocation.child_id)
        .join(Account, Account.id == Allocation.account_id)
        .join(Security, Security.id == block.security_id)
        .outerjoin(latest, latest.c.block_id == Allocation.block_id)
        .outerjoin(ins, ins.id == latest.c.id)
        .order_by(Allocation.block_id, Allocation.id)
    )
    if order_ids is not None:
        q = q.where(or_(Allocation.block_id.in_(order_ids), Allocation.child_id.in_(order_ids)))
    with database.session() as s:
        rows = [
            (
                *r[:15],
                "booked" if r[15] is not None else "unbooked",
                r[16],
                r[17] or "",
                r[18] or "",
                r[19] or "",
            )
            for r in s.execute(q).all()
        ]
    return pd.DataFrame(rows, columns=ALLOCATION_KEYS)


def block_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per block: filled, allocated (must be equal), accounts, allocated average price."""
    if frame.empty:
        return pd.DataFrame(columns=["block", "filled", "allocated", "accounts", "avg_px"])
    g = frame.assign(notional=frame["quantity"] * frame["avg_px"]).groupby("block", sort=False)
    out = pd.DataFrame(
        {
            "filled": g["block_filled"].first(),
            "allocated": g["quantity"].sum(),
            "accounts": g["account"].nunique(),
            "avg_px": g["notional"].sum() / g["quantity"].sum(),
        }
    )
    return out.reset_index()


def instruction_list(database: Database, status: str | None = None) -> list[dict[str, Any]]:
    """Every FIX allocation instruction (or those in `status`), oldest first, with its block, the
    accounts as sent (NoAllocs) and the broker's answer (`workstation orders allocations --json`)."""
    q = (
        select(AllocInstruction, Order.cl_ord_id, Security.symbol)
        .join(Order, Order.id == AllocInstruction.block_id)
        .join(Security, Security.id == AllocInstruction.security_id)
        .order_by(AllocInstruction.id)
    )
    if status is not None:
        q = q.where(AllocInstruction.status == status)
    with database.session() as s:
        return [
            {
                "alloc_id": i.alloc_id, "status": i.status, "trans_type": i.trans_type,
                "ref_alloc_id": i.ref_alloc_id, "alloc_type": i.alloc_type, "broker": i.broker,
                "block": block, "block_id": i.block_id, "symbol": symbol, "side": i.side,
                "quantity": float(i.quantity), "avg_px": float(i.avg_px), "currency": i.currency,
                "trade_date": i.trade_date.isoformat(),
                "settle_date": i.settle_date.isoformat() if i.settle_date else None,
                "cl_ord_ids": [c[0] for c in i.cl_ord_ids],
                "allocs": [{"account": x["account"], "alloc_account": x["alloc_account"],
                            "quantity": float(x["quantity"])} for x in i.lines],
                "reject_code": i.reject_code, "reason": i.reject_text, "report_id": i.report_id,
                "sent_at": i.sent_at.isoformat() if i.sent_at else None,
                "answered_at": i.answered_at.isoformat() if i.answered_at else None,
                "alerted_at": i.alerted_at.isoformat() if i.alerted_at else None,
            }
            for i, block, symbol in s.execute(q).all()
        ]  # fmt: skip
