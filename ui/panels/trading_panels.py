"""The trader panels, by the names other modules import (split by idea: trade_columns,
live_table, orders_panel, executions_panel)."""

from __future__ import annotations

from ui.panels.executions_panel import ExecutionsPanel
from ui.panels.live_table import LiveTablePanel, OrdersChangedElsewhere
from ui.panels.orders_panel import OrdersPanel
from ui.panels.trade_columns import (
    CANCELLABLE,
    EXEC_COLUMNS,
    EXEC_TYPES,
    ORD_STATUS,
    ORDER_COLUMNS,
    REPLACEABLE,
    SHOW_ALLOCATIONS,
    exec_frame,
    no_price_unfilled,
)

__all__ = [
    "CANCELLABLE",
    "EXEC_COLUMNS",
    "EXEC_TYPES",
    "ORDER_COLUMNS",
    "ORD_STATUS",
    "REPLACEABLE",
    "SHOW_ALLOCATIONS",
    "ExecutionsPanel",
    "LiveTablePanel",
    "OrdersChangedElsewhere",
    "OrdersPanel",
    "exec_frame",
    "no_price_unfilled",
]
