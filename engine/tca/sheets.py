"""The best-execution report as flat tables (orders, per broker, per trader, total) for CSV and XLSX."""

from __future__ import annotations

from typing import Any

import pandas as pd

SHEETS = ("orders", "by_broker", "by_trader", "total", "about")


def frames(doc: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """One DataFrame per sheet; `missing` lists are joined with '; '. Numbers stay Decimal (exact)."""
    orders = [{**r, "missing": "; ".join(r["missing"])} for r in doc["orders"]]
    out = {
        "orders": pd.DataFrame(orders),
        "by_broker": pd.DataFrame(doc["by_broker"]),
        "by_trader": pd.DataFrame(doc["by_trader"]),
        "total": pd.DataFrame([doc["total"]]),
    }
    about = {k: doc[k] for k in ("from", "to", "currency", "broker", "trader", "market", "sign")}
    out["about"] = pd.DataFrame(
        [{"field": k, "value": "" if v is None else str(v)} for k, v in about.items()]
    )
    return out
