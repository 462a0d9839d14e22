"""Exposure report: by currency, sector, country or asset class, at account, household or firm level."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.analytics.exposure import exposure
from engine.pricing.cache import load_accounts, load_securities
from engine.pricing.fx import FxTable
from engine.pricing.valuation import value_cash, value_lots
from engine.reports.numbers import allocate_money, weights


def exposure_report(
    session: Session,
    ids: list[int],
    as_of: date,
    by: str = "currency",
    level: str = "account",
    report_currency: str = "USD",
) -> dict[str, Any]:
    """The `report exposure --json` document (shape in docs/reports.md)."""
    fx = FxTable.load(session, end=as_of)
    lots = value_lots(session, as_of, fx, account_ids=ids)
    cash = value_cash(session, as_of, fx)
    cash = cash[cash["account_id"].isin(ids)]
    accounts = load_accounts(session).loc[ids]
    table = exposure(
        lots,
        cash,
        load_securities(session),
        accounts,
        by=by,
        level=level,
        fx=fx,
        as_of=as_of,
        report_currency=report_currency,
    )
    rows = [
        {"group": r.group, "bucket": r.bucket, "currency": r.currency, "value": r.value, "weight": r.weight}
        for r in table.itertuples(index=False)
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:  # a group's rows are in its one reporting currency
        groups.setdefault((str(row["group"]), str(row["currency"])), []).append(row)
    for members in groups.values():  # each group's values add up to its total, weights to one
        ccy = str(members[0]["currency"])
        for row, v, w in zip(
            members,
            allocate_money([m["value"] for m in members], ccy),
            weights([m["weight"] for m in members]),
        ):
            row["value"], row["weight"] = float(v), float(w)
    return {"report": "exposure", "as_of": as_of.isoformat(), "by": by, "level": level, "rows": rows}
