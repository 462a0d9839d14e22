"""The trader blotters' columns, FIX code names and the order statuses each command accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from widgets.columns import Column

EXEC_TYPES = {
    "0": "New",
    "3": "Done for day",
    "4": "Canceled",
    "5": "Replaced",
    "6": "Pending cancel",
    "8": "Rejected",
    "A": "Pending new",
    "C": "Expired",
    "D": "Restated",
    "E": "Pending replace",
    "F": "Trade",
    "G": "Trade correct",
    "H": "Trade cancel",
    "I": "Order status",
}
ORDER_COLUMNS = [
    Column("cl_ord_id", "ClOrdID"),
    Column("kind", "Kind"),
    Column("parent", "Block"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side", "words"),
    Column("quantity", "Quantity", "qty"),
    Column("order_type", "Type", "words"),
    Column("limit_price", "Limit", "price"),
    Column("stop_price", "Stop", "price"),
    Column("time_in_force", "TIF", "words"),
    Column("broker", "Broker"),
    Column("strategy", "Strategy", "words"),
    Column("mic", "Market"),
    Column("status", "Status", "words"),
    Column("cum_qty", "Filled", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg price", "price"),
    Column("currency", "Ccy"),
    Column("updated_at", "Updated", "datetime"),
    Column("created_by", "Trader"),
    Column("note", "Note", tooltip="the outcome of the last desk command on this order"),
]
EXEC_COLUMNS = [
    Column("received_at", "Received", "datetime"),
    Column("cl_ord_id", "ClOrdID"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side", "words"),
    Column("broker", "Broker"),
    Column("exec_id", "ExecID"),
    Column("exec_type_name", "ExecType"),
    Column("status", "OrdStatus", "words"),
    Column("last_qty", "Last qty", "qty"),
    Column("last_px", "Last px", "price"),
    Column("cum_qty", "Cum qty", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg px", "price"),
    Column("currency", "Ccy"),
    Column("mic", "Market"),
]
ORD_STATUS = {
    "0": "new",
    "1": "partially_filled",
    "2": "filled",
    "3": "done_for_day",
    "4": "canceled",
    "6": "pending_cancel",
    "8": "rejected",
    "A": "pending_new",
    "C": "expired",
    "E": "pending_replace",
}
CANCELLABLE = frozenset(
    {"pending_approval", "held", "released", "in_block", "pending_new", "new", "partially_filled"}
)
REPLACEABLE = frozenset({"new", "partially_filled"})
SHOW_ALLOCATIONS = "allocations:"
"""desk.data_changed message prefix: the allocations dock shows the block ClOrdID that follows."""


def _all_status(allowed: Iterable[str]) -> Callable[[list[dict[str, object]]], bool]:
    ok = frozenset(allowed)
    return lambda rows: bool(rows) and all(r.get("status") in ok for r in rows)


def no_price_unfilled(frame: pd.DataFrame) -> pd.DataFrame:
    """An order (or report) with nothing filled has no average price, and a report that is not a
    fill no last price: blank, not 0.00."""
    if len(frame):
        frame = frame.assign(avg_px=frame["avg_px"].where(frame["cum_qty"].fillna(0) > 0))
        if "last_px" in frame:
            frame = frame.assign(last_px=frame["last_px"].where(frame["last_qty"].fillna(0) > 0))
    return frame


def exec_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Executions with the FIX 4.4 names of ExecType and OrdStatus."""
    out = no_price_unfilled(frame).copy()
    out["exec_type_name"] = [f"{t} {EXEC_TYPES.get(str(t), '?')}" for t in out["exec_type"]]
    out["status"] = [ORD_STATUS.get(str(s), str(s)) for s in out["ord_status"]]
    return out
