"""Orders, executions and proposals as the blotters and queues show them (read from the real tables).

When the OMS service (issue 6) lands, `orders()` keeps its columns and the blotter does not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import aliased

from engine.compliance.tables import ApprovalCase
from engine.oms.tables import Execution, Order
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security

OPEN_STATUSES = frozenset(
    {
        "new",
        "pending_new",
        "held",
        "approved",
        "released",
        "sent",
        "working",
        "partially_filled",
        "pending_cancel",
        "pending_replace",
    }
)
ORDER_KEYS = [
    "id",
    "cl_ord_id",
    "kind",
    "parent",
    "account",
    "symbol",
    "side",
    "quantity",
    "order_type",
    "limit_price",
    "time_in_force",
    "currency",
    "broker",
    "mic",
    "status",
    "cum_qty",
    "leaves_qty",
    "avg_px",
    "created_at",
    "updated_at",
    "stop_price",
    "expire_at",
    "strategy",
    "created_by",
]
EXEC_KEYS = [
    "id",
    "cl_ord_id",
    "account",
    "symbol",
    "side",
    "broker",
    "exec_id",
    "exec_type",
    "ord_status",
    "last_qty",
    "last_px",
    "cum_qty",
    "leaves_qty",
    "avg_px",
    "currency",
    "mic",
    "transact_time",
    "received_at",
]
PROPOSAL_KEYS = [
    "id",
    "batch_id",
    "account",
    "mode",
    "status",
    "trades",
    "reason",
    "created_by",
    "created_at",
    "updated_at",
    "compliance",
]


def _frame(rows: Iterable[tuple[Any, ...]], keys: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=keys)


def orders(database: Database, ids: list[int] | None = None) -> pd.DataFrame:
    """Every order (or those with `ids`), blocks and children alike, with market and account code."""
    parent = aliased(Order)
    q = (
        select(
            Order.id,
            Order.cl_ord_id,
            Order.account_id,
            parent.cl_ord_id,
            Account.code,
            Security.symbol,
            Order.side,
            cast(Order.quantity, Float),
            Order.order_type,
            cast(Order.limit_price, Float),
            Order.time_in_force,
            Order.currency,
            Order.broker,
            Security.mic,
            Order.status,
            cast(Order.cum_qty, Float),
            cast(Order.leaves_qty, Float),
            cast(Order.avg_px, Float),
            Order.created_at,
            Order.updated_at,
            cast(Order.stop_price, Float),
            Order.expire_at,
            Order.strategy,
            Order.created_by,
        )
        .join(Security, Security.id == Order.security_id)
        .join(Account, Account.id == Order.account_id, isouter=True)
        .join(parent, parent.id == Order.parent_id, isouter=True)
        .order_by(Order.id)
    )
    if ids is not None:
        q = q.where(Order.id.in_(ids))
    with database.session() as s:
        rows = [(r[0], r[1], "block" if r[2] is None else "order", *r[3:]) for r in s.execute(q).all()]
    return _frame(rows, ORDER_KEYS)


def executions(
    database: Database, ids: list[int] | None = None, order_ids: list[int] | None = None
) -> pd.DataFrame:
    q = (
        select(
            Execution.id,
            Order.cl_ord_id,
            Account.code,
            Security.symbol,
            Order.side,
            Execution.broker,
            Execution.exec_id,
            Execution.exec_type,
            Execution.ord_status,
            cast(Execution.last_qty, Float),
            cast(Execution.last_px, Float),
            cast(Execution.cum_qty, Float),
            cast(Execution.leaves_qty, Float),
            cast(Execution.avg_px, Float),
            Order.currency,
            Security.mic,
            Execution.transact_time,
            Execution.received_at,
        )
        .join(Order, Order.id == Execution.order_id)
        .join(Security, Security.id == Order.security_id)
        .join(Account, Account.id == Order.account_id, isouter=True)
        .order_by(Execution.id)
    )
    if ids is not None:
        q = q.where(Execution.id.in_(ids))
    if order_ids is not None:
        q = q.where(Execution.order_id.in_(order_ids))
    with database.session() as s:
        return _frame(s.execute(q).all(), EXEC_KEYS)


def _trade_count(dialect: str) -> Any:
    """The number of trades in a proposal's payload, counted by the database (the payload itself,
    tens of kilobytes a proposal, never leaves it): None where the dialect has no JSON functions."""
    if dialect == "sqlite":
        return func.json_array_length(Proposal.payload, "$.trades")
    if dialect == "postgresql":
        return func.json_array_length(Proposal.payload.op("->")("trades"))
    return None


def proposals(
    database: Database,
    ids: list[int] | None = None,
    *,
    batch_id: str | None = None,
    after_id: int | None = None,
) -> pd.DataFrame:
    """Proposals with their trade count and compliance case, without their payloads (the desk
    loads a payload when a proposal is selected). Only `ids` when given (a keyed re-read of the
    rows another desk changed), only one batch's with `batch_id`, only ids above `after_id`."""
    count = _trade_count(database.engine.dialect.name)
    trades_col = count if count is not None else Proposal.payload
    q = (
        select(
            Proposal.id,
            Proposal.batch_id,
            Account.code,
            Proposal.mode,
            Proposal.status,
            trades_col,
            Proposal.reason,
            Proposal.created_by,
            Proposal.created_at,
            Proposal.updated_at,
        )
        .join(Account, Account.id == Proposal.account_id)
        .order_by(Proposal.id)
    )
    cq = select(ApprovalCase.entity_id, ApprovalCase.state, ApprovalCase.outcome).where(
        ApprovalCase.entity == "proposal"
    )
    if ids is not None:
        q = q.where(Proposal.id.in_(ids))
        cq = cq.where(ApprovalCase.entity_id.in_([str(i) for i in ids]))
    if batch_id is not None:
        q = q.where(Proposal.batch_id == batch_id)
    if after_id is not None:
        q = q.where(Proposal.id > after_id)
    with database.session() as s:
        rows = []
        for r in s.execute(q).all():
            n = r[5]
            if count is None:  # another dialect: count in Python
                trades = r[5].get("trades") if isinstance(r[5], dict) else None
                n = len(trades) if isinstance(trades, list) else None
            rows.append((*r[:5], n, *r[6:]))
        if ids is None and (batch_id is not None or after_id is not None):
            cq = cq.where(ApprovalCase.entity_id.in_([str(r[0]) for r in rows]))
        cases = {
            eid: f"{state} ({outcome})" if outcome else state for eid, state, outcome in s.execute(cq).all()
        }
    return _frame([(*r, cases.get(str(r[0]), "")) for r in rows], PROPOSAL_KEYS)


def waiting_by_market(database: Database) -> dict[str, int]:
    """Open orders per market (MIC): what is waiting for each exchange to open or fill."""
    q = (
        select(Security.mic, func.count())
        .join(Order, Order.security_id == Security.id)
        .where(Order.status.in_(sorted(OPEN_STATUSES)))
        .group_by(Security.mic)
    )
    with database.session() as s:
        return {mic: int(n) for mic, n in s.execute(q).all()}
