"""`orders import`: read an orders CSV, validate every row, then create all orders or none.

Columns and row checks: engine.oms.order_file (shared with `compliance check`). Created orders
go through compliance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from engine.oms.drafts import OrderDraft
from engine.oms.order_file import read_order_file
from engine.oms.service import OrderManager
from engine.oms.tables import Order


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
    """Every row validated (engine.oms.order_file, shared with `compliance check`)."""
    with manager.database.session() as s:
        return [r.draft for r in read_order_file(s, path, manager.ctx.clock)]


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
