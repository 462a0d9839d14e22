"""A household's consolidated statement: its accounts together in one currency.

The currency is the base currency holding most of the household's value at the period's end
(valued in USD at that day's rate), as `report household-performance` chooses it. Values are
translated at the period end's rate; income, fees and flows at each movement's trade-date rate;
the household's time-weighted return comes from the sum of its accounts' daily values, flows and
fees, each translated at that day's rate (engine.reports.composite does the same for
`report household-performance`). Each account's own statement carries its detail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from engine.pricing.fx import FxTable
from engine.reports.numbers import allocate_money, money, weights
from engine.statements import activity
from engine.statements.performance import Series, window_returns
from engine.statements.period import Period


def _currency(docs: list[dict[str, Any]], fx: FxTable, period: Period) -> str:
    usd: dict[str, float] = {}
    for d in docs:
        r = float(fx.rates([d["base_currency"]], ["USD"], period.last)[0])
        usd[d["base_currency"]] = usd.get(d["base_currency"], 0.0) + d["totals"]["total_base"] * r
    return max(sorted(usd), key=lambda c: usd[c])


def _combined(docs: list[dict[str, Any]], kept: dict[int, Series], ccy: str, fx: FxTable) -> Series | None:
    """The household's daily value, flow and fees in `ccy` (union of the accounts' dates)."""
    frames = []
    for d in docs:
        s = kept.get(d["account_id"])
        if s is None:
            return None
        f = s.frame
        r = fx.rates(
            [d["base_currency"]] * len(f), [ccy] * len(f), list(f.index.to_numpy(dtype="datetime64[D]"))
        )
        frames.append(
            pd.DataFrame({c: f[c].to_numpy() * r for c in ("value", "flow", "fees")}, index=f.index)
        )
    index = frames[0].index
    for f in frames[1:]:
        index = index.union(f.index)
    total = pd.DataFrame(0.0, index=index, columns=["value", "flow", "fees"])
    for f in frames:
        g = f.reindex(index)
        total["value"] += g["value"].ffill().fillna(0.0)
        total["flow"] += g["flow"].fillna(0.0)
        total["fees"] += g["fees"].fillna(0.0)
    sources = {kept[d["account_id"]].source for d in docs}
    return Series(sources.pop() if len(sources) == 1 else "mixed", total)


def household_doc(
    session: Session, code: str, name: str, docs: list[dict[str, Any]], kept: dict[int, Series],
    period: Period, fx: FxTable, locale: str,
) -> dict[str, Any]:  # fmt: skip
    """The household document from its accounts' documents (those that were not skipped)."""
    ccy = _currency(docs, fx, period)
    rate = {d["base_currency"]: float(fx.rates([d["base_currency"]], [ccy], period.last)[0]) for d in docs}
    exact = [d["totals"]["total_base"] * rate[d["base_currency"]] for d in docs]
    lines = allocate_money(exact, ccy)
    share = weights([x / sum(exact) if sum(exact) else 0.0 for x in exact])
    accounts = []
    for d, v, w in zip(docs, lines, share):
        q = next((x for x in d.get("performance", {}).get("windows", []) if x["window"] == "quarter"), None)
        accounts.append(
            {
                "account": d["account"],
                "name": d["name"],
                "base_currency": d["base_currency"],
                "value_base": d["totals"]["total_base"],
                "value": float(v),
                "weight": float(w),
                "quarter_net": q["net"] if q else None,
            }
        )
    classes: dict[str, float] = {}
    for d in docs:
        for a in d["allocation"]:
            classes[a["asset_class"]] = (
                classes.get(a["asset_class"], 0.0) + a["value_base"] * rate[d["base_currency"]]
            )
    names = sorted(classes, key=lambda c: (c == "cash", c))
    cl = allocate_money([classes[c] for c in names], ccy)
    cw = weights([classes[c] / sum(classes.values()) if sum(classes.values()) else 0.0 for c in names])
    ids = [d["account_id"] for d in docs]
    sums = activity.cash_summary(session, ids, period.first, period.last, fx, dict.fromkeys(ids, ccy)).sum()
    total = sum(lines, start=money(0, ccy))
    doc: dict[str, Any] = {
        "kind": "household", "household": code, "name": name, "currency": ccy, "base_currency": ccy,
        "locale": locale, "period": period.label, "from": period.first.isoformat(), "to": period.last.isoformat(),
        "accounts": accounts, "total": float(total),
        "allocation": [{"asset_class": c, "value_base": float(v), "weight": float(w)} for c, v, w in zip(names, cl, cw)],
        "activity": {k: float(money(sums[k], ccy)) for k in activity.SUMMARY},
    }  # fmt: skip
    combined = _combined(docs, kept, ccy, fx)
    if combined is None:
        doc["performance"] = {"source": None, "windows": [], "note": "an account has no history"}
        doc["chart"] = []
    else:
        doc["performance"] = {"source": combined.source, "windows": window_returns(combined, period, None)}
        v = combined.frame["value"]
        step = max(1, int(np.ceil(len(v) / 60)))
        keep = list(range(len(v) - 1, -1, -step))[::-1]
        doc["chart"] = [[v.index[i].date().isoformat(), float(v.iloc[i])] for i in keep]
    return doc
