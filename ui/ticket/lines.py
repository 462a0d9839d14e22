"""What the ticket shows besides its fields: the order it amends and the per-account lines grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from widgets.columns import Column

LINE_COLUMNS = [
    Column("account", "Account"),
    Column("quantity", "Quantity", "qty"),
    Column("account_value", "Account value", "money", currency_key="base_currency"),
    Column("notional", "Notional", "money", currency_key="currency"),
    Column("outcome", "Compliance", "words"),
    Column("why", "Why"),
]
OUTCOME_COLORS = {
    False: {"block": "#ffebee", "flag": "#fff3e0", "warn": "#fffde7"},
    True: {"block": "#4d1a1a", "flag": "#4d3315", "warn": "#4a4512"},
}


@dataclass(frozen=True)
class LiveOrder:
    """The order a ticket amends (the blotter's row)."""

    id: int
    cl_ord_id: str
    account: str
    symbol: str
    side: str
    quantity: float
    filled: float
    order_type: str
    limit_price: float | None
    stop_price: float | None
    time_in_force: str
    broker: str


def lines_frame(p: Any) -> pd.DataFrame:
    """A checked TicketPlan's lines as the grid shows them (numbers as floats, codes as codes)."""
    ccy = p.listing.currency
    return pd.DataFrame(
        {
            "account": [ln.account for ln in p.lines],
            "quantity": [float(ln.quantity) for ln in p.lines],
            "account_value": [
                None if ln.account_value is None else float(ln.account_value) for ln in p.lines
            ],
            "base_currency": [ln.base_currency for ln in p.lines],
            "notional": [float(ln.notional) for ln in p.lines],
            "currency": [ccy] * len(p.lines),
            "outcome": [ln.outcome or "not sent" for ln in p.lines],
            "why": [ln.note or "; ".join(ln.messages) for ln in p.lines],
        }
    )


def live_order(row: dict[str, Any]) -> LiveOrder:
    """The blotter row of a live order as the ticket amends it."""

    def num(v: Any) -> float | None:
        return None if v is None or v != v else float(v)

    return LiveOrder(
        id=int(row["id"]),
        cl_ord_id=str(row["cl_ord_id"]),
        account=str(row.get("account") or ""),
        symbol=str(row["symbol"]),
        side=str(row["side"]),
        quantity=float(row["quantity"]),
        filled=float(row.get("cum_qty") or 0),
        order_type=str(row["order_type"]),
        limit_price=num(row.get("limit_price")),
        stop_price=num(row.get("stop_price")),
        time_in_force=str(row["time_in_force"]),
        broker=str(row.get("broker") or ""),
    )
