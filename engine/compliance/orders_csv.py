"""Hypothetical orders from a CSV file, for `workstation compliance check FILE.csv`.

The file is the one `orders import` takes: the same columns, the same row checks and the same
errors (engine.oms.order_file), so a file that passes the check imports, and one it refuses is
refused by both.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from engine.oms.order_file import read_order_file
from engine.ports import OrderIntent


def read_orders(session: Session, path: Path) -> tuple[list[OrderIntent], list[int]]:
    """The orders and the spreadsheet row number of each (header = row 1)."""
    found = read_order_file(session, path)
    intents = [
        OrderIntent(
            account=r.draft.account,
            symbol=r.draft.symbol,
            side=r.draft.side,
            quantity=r.draft.quantity,
            order_type=r.draft.order_type,
            limit_price=r.draft.limit_price,
        )
        for r in found
    ]
    return intents, [r.row for r in found]
