"""Block allocations as the allocations panel shows them: each block's fills given to its children
(oms_allocations), one row per child, with account, quantity, average price and booking state."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Float, cast, or_, select
from sqlalchemy.orm import aliased

from engine.oms.tables import Allocation, Order
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
]


def allocations(database: Database, order_ids: list[int] | None = None) -> pd.DataFrame:
    """Every allocation (or those of the blocks / children in `order_ids`), block order then child."""
    block = aliased(Order)
    child = aliased(Order)
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
        )
        .join(block, block.id == Allocation.block_id)
        .join(child, child.id == Allocation.child_id)
        .join(Account, Account.id == Allocation.account_id)
        .join(Security, Security.id == block.security_id)
        .order_by(Allocation.block_id, Allocation.id)
    )
    if order_ids is not None:
        q = q.where(or_(Allocation.block_id.in_(order_ids), Allocation.child_id.in_(order_ids)))
    with database.session() as s:
        rows = [(*r[:15], "booked" if r[15] is not None else "unbooked", r[16]) for r in s.execute(q).all()]
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
