"""`orders import`: read an orders CSV, validate every row, then create all orders or none.

Columns: account, symbol, side, quantity, order_type, limit_price, time_in_force, broker
(broker names a FIX session by its TargetCompID). Created orders go through compliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from engine.errors import ImportValidationError, Problem
from engine.imports import parse
from engine.imports.csvread import read_csv
from engine.oms.drafts import ORDER_TYPES, SIDES, TIME_IN_FORCE, OrderDraft
from engine.oms.service import OrderManager
from engine.store.accounts import Account
from engine.store.reference import Security
from engine.store.trading import Order

COLUMNS = ("account", "symbol", "side", "quantity", "order_type", "limit_price", "time_in_force", "broker")


@dataclass(frozen=True)
class ImportedOrders:
    order_ids: list[int]
    released: int
    pending_approval: int
    rejected: int

    def as_dict(self) -> dict[str, object]:
        return {
            "created": len(self.order_ids),
            "released": self.released,
            "pending_approval": self.pending_approval,
            "rejected": self.rejected,
            "order_ids": self.order_ids,
        }


def read_drafts(manager: OrderManager, path: Path) -> list[OrderDraft]:
    """Every row validated; ImportValidationError lists all problems (row, column, reason)."""
    table = read_csv(path, required=COLUMNS)
    problems = list(table.problems)
    with manager.database.session() as s:
        accounts = set(s.scalars(select(Account.code)))
        symbols = set(s.scalars(select(Security.symbol)))
    drafts: list[OrderDraft] = []
    for row in table.rows:
        v = row.values
        bad: list[Problem] = []

        def need(col: str, ok: bool, why: str, bad: list[Problem] = bad, n: int = row.number) -> None:
            if not ok:
                bad.append(Problem(n, col, why))

        need("account", v.get("account", "") in accounts, f"unknown account {v.get('account', '')!r}")
        need("symbol", v.get("symbol", "") in symbols, f"unknown symbol {v.get('symbol', '')!r}")
        side = v.get("side", "").lower()
        need("side", side in SIDES, f"side must be one of {', '.join(SIDES)}")
        qty = Decimal(0)
        try:
            qty = parse.positive(v.get("quantity", ""), parse.QUANTITY)
        except parse.ParseError as exc:
            bad.append(Problem(row.number, "quantity", str(exc)))
        otype = v.get("order_type", "").lower()
        need("order_type", otype in ORDER_TYPES, f"order_type must be one of {', '.join(ORDER_TYPES)}")
        limit = None
        text = v.get("limit_price", "")
        if otype == "limit":
            try:
                limit = parse.positive(text, parse.PRICE)
            except parse.ParseError as exc:
                bad.append(Problem(row.number, "limit_price", f"a limit order needs a positive price: {exc}"))
        elif text:
            bad.append(Problem(row.number, "limit_price", "only a limit order has a limit price"))
        tif = v.get("time_in_force", "").lower() or "day"
        need(
            "time_in_force", tif in TIME_IN_FORCE, f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}"
        )
        broker = v.get("broker", "")
        need("broker", 0 < len(broker) <= 64, "name the FIX session's TargetCompID (1-64 characters)")
        problems += bad
        if not bad:
            drafts.append(
                OrderDraft(
                    account=v["account"],
                    symbol=v["symbol"],
                    side=side,
                    quantity=qty,
                    order_type=otype,
                    limit_price=limit,
                    time_in_force=tif,
                    broker=broker,
                )
            )
    if not problems and not drafts:
        problems.append(Problem(1, "(file)", "no orders in the file"))
    if problems:
        raise ImportValidationError(table.source, problems)
    return drafts


def import_orders(manager: OrderManager, path: Path, username: str | None = None) -> ImportedOrders:
    """Validate all rows, then create every order in one transaction and run compliance."""
    ids = manager.create(read_drafts(manager, path), username)
    with manager.database.session() as s:
        statuses = list(s.scalars(select(Order.status).where(Order.id.in_(ids))))
    return ImportedOrders(
        order_ids=ids,
        released=statuses.count("released"),
        pending_approval=statuses.count("pending_approval"),
        rejected=statuses.count("rejected"),
    )
