"""Hypothetical orders from a CSV file, for `workstation compliance check FILE.csv`.

Columns: account, symbol, side, quantity (required); order_type (market or limit, default
market) and limit_price (required for limit orders); ref (optional, your own key).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ImportValidationError
from engine.imports.csvread import read_csv
from engine.ports import OrderIntent

REQUIRED = ("account", "symbol", "side", "quantity")
OPTIONAL = ("order_type", "limit_price", "ref")


def read_orders(path: Path) -> tuple[list[OrderIntent], list[int]]:
    """The orders and the spreadsheet row number of each (header = row 1)."""
    table = read_csv(path, REQUIRED, OPTIONAL)
    if table.problems:
        raise ImportValidationError(table.source, table.problems)
    intents, rows = [], []
    for r in table.rows:
        v = r.values
        intents.append(
            OrderIntent(
                account=v.get("account", ""),
                symbol=v.get("symbol", ""),
                side=v.get("side", ""),
                quantity=v.get("quantity", ""),  # type: ignore[arg-type]  # validated by prepare_orders
                order_type=v.get("order_type") or "market",
                limit_price=v.get("limit_price") or None,  # type: ignore[arg-type]
                ref=v.get("ref", ""),
            )
        )
        rows.append(r.number)
    return intents, rows
