"""The statement of each account of a batch, as a plain document (JSON-able) the PDF is drawn from.

Everything for a batch (a few hundred accounts) comes from a handful of queries over all of them
(engine.statements.holdings, .activity, .performance's stored values); only an account without
stored daily values rebuilds its history alone. Amounts are rounded to the base currency's minor
unit with lines that add up to their totals (engine.reports.numbers.allocate_money), weights to
six decimals that add up to one. An account with nothing held at the period's end and no activity
in it gets no statement: its document says `skipped` and why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.pricing.fx import FxTable
from engine.reports.numbers import allocate_money, money, weights
from engine.statements import activity
from engine.statements.fmt import locale_for
from engine.statements.grid import PriceGrid
from engine.statements.holdings import cash_at, holdings_at
from engine.statements.performance import Series, benchmark, series, window_returns
from engine.statements.period import Period
from engine.store.accounts import Account

CHART_POINTS = 60
"""At most this many points on the value chart (weekly over a year)."""
NOTHING = "no holdings at the end of the period and no activity in it"


def _m(x: Any, ccy: str) -> float:
    return float(money(float(x), ccy))


def _chart(f: pd.DataFrame, start: pd.Timestamp) -> list[list[Any]]:
    v = f.loc[f.index >= start, "value"]
    step = max(1, int(np.ceil(len(v) / CHART_POINTS)))
    keep = list(range(len(v) - 1, -1, -step))[::-1]
    return [[v.index[i].date().isoformat(), float(v.iloc[i])] for i in keep]


def _by_account(frame: pd.DataFrame) -> dict[int, list[Any]]:
    """The frame's rows (as attribute-style records) grouped by account id, in one pass."""
    out: dict[int, list[Any]] = {}
    for rec in frame.to_dict("records"):
        out.setdefault(int(rec["account_id"]), []).append(_Rec(rec))
    return out


class _Rec(dict):  # type: ignore[type-arg]
    """A record whose fields read as attributes (r.symbol) as well as keys."""

    __getattr__ = dict.__getitem__


def _holdings(doc: dict[str, Any], pos: list[Any], cash: list[Any], ccy: str) -> float:
    """Positions and cash lines rounded together; allocation by asset class; the exact total."""
    exact = [*(r.value_base for r in pos), *(c.value_base for c in cash)]
    total = float(sum(exact))
    lines = allocate_money(exact, ccy)
    w = weights([x / total if total else 0.0 for x in exact])
    n = len(pos)
    doc["positions"] = [
        {
            "asset_class": r.asset_class, "symbol": r.symbol, "name": r.name, "currency": r.currency,
            "quantity": float(r.quantity), "price": float(r.price),
            "value_local": float(money(r.value_local, r.currency)), "value_base": float(lines[k]),
            "weight": float(w[k]), "cost_base": _m(r.cost_base, ccy),
            "unrealized_base": _m(r.unrealized_short + r.unrealized_long + r.unrealized_none, ccy),
        }
        for k, r in enumerate(pos)
    ]  # fmt: skip
    doc["cash"] = [
        {"currency": c.currency, "amount": float(money(c.amount, c.currency)), "value_base": float(lines[n + k]),
         "weight": float(w[n + k])}
        for k, c in enumerate(cash)
    ]  # fmt: skip
    classes: dict[str, list[int]] = {}
    for k, p in enumerate(doc["positions"]):
        classes.setdefault(p["asset_class"], []).append(k)
    doc["allocation"] = [
        {
            "asset_class": c,
            "value_base": float(sum(lines[k] for k in ks)),
            "weight": float(sum(w[k] for k in ks)),
        }
        for c, ks in sorted(classes.items())
    ]
    if len(cash):
        doc["allocation"].append(
            {"asset_class": "cash", "value_base": float(sum(lines[n:])), "weight": float(sum(w[n:]))}
        )
    sec = sum(lines[:n], start=money(0, ccy))
    csh = sum(lines[n:], start=money(0, ccy))
    doc["totals"] = {"securities_base": float(sec), "cash_base": float(csh), "total_base": float(sec + csh)}
    return total


def build_batch(
    session: Session,
    ids: list[int],
    period: Period,
    locale: str | None = None,
    keep: dict[int, Series] | None = None,
) -> list[dict[str, Any]]:
    """One document per account id (in the order given); see docs/reports.md#statements. `keep`
    receives each account's daily series (for the household statements)."""
    accounts = {
        a.id: a
        for a in session.scalars(
            select(Account)
            .where(Account.id.in_(ids))
            .options(selectinload(Account.household), selectinload(Account.model))
        )
    }
    base = {a: accounts[a].base_currency for a in ids}
    year = period.windows()[-1][1]
    fx = FxTable.load(session, start=year - timedelta(days=10), end=period.last)
    pos = holdings_at(session, ids, period.last, fx, base)
    cash = cash_at(session, ids, period.last, fx, base)
    trades = activity.trades(session, ids, period.first, period.last, fx, base)
    summary = activity.cash_summary(session, ids, period.first, period.last, fx, base)
    gains = activity.realized(session, ids, period.first, period.last)
    grid = PriceGrid(session, ids, year, period.last, fx)
    hist = series(session, ids, period, fx, base, grid)
    pos_at, cash_rows, trade_rows = _by_account(pos), _by_account(cash), _by_account(trades)
    docs = []
    for aid in ids:
        a = accounts[aid]
        ccy = a.base_currency
        doc: dict[str, Any] = {
            "kind": "account", "account": a.code, "name": a.name, "household": a.household.code,
            "household_name": a.household.name, "base_currency": ccy,
            "locale": locale_for(a.tax_jurisdiction, locale), "period": period.label,
            "from": period.first.isoformat(), "to": period.last.isoformat(),
        }  # fmt: skip
        p, c, t = pos_at.get(aid, []), cash_rows.get(aid, []), trade_rows.get(aid, [])
        s, g = summary.loc[aid], gains.loc[aid]
        if not p and not c and not t and not s.any() and not g.any():
            docs.append({**doc, "skipped": NOTHING})
            continue
        _holdings(doc, p, c, ccy)
        doc["trades"] = [
            {"date": r.trade_date.isoformat(), "side": r.side, "symbol": r.symbol, "quantity": float(r.quantity),
             "price": float(r.price), "currency": r.currency,
             "amount_local": float(money(r.amount_local, r.currency)), "amount_base": _m(r.amount_base, ccy)}
            for r in t
        ]  # fmt: skip
        unreal = {
            f"unrealized_{k}": _m(sum(r[f"unrealized_{k}"] for r in p), ccy)
            for k in ("short", "long", "none")
        }
        doc["gains"] = {**{k: _m(g[k], ccy) for k in g.index}, **unreal}
        h = hist[aid]
        act = {k: _m(s[k], ccy) for k in activity.SUMMARY}
        act["income_net"] = float(money(act["income"], ccy) + money(act["withholding"], ccy))
        act["trades"] = len(t)
        act["end_value"] = doc["totals"]["total_base"]
        if isinstance(h, Series):
            if keep is not None:
                keep[aid] = h
            f = h.frame
            k = (
                int(
                    np.searchsorted(
                        f.index.to_numpy(dtype="datetime64[D]"),
                        np.datetime64(period.opening, "D"),
                        side="right",
                    )
                )
                - 1
            )
            start = float(f["value"].iloc[k]) if k >= 0 else 0.0
            # An account whose history starts inside the period starts from nothing: its first value
            # is money (or securities) brought in.
            flows = (
                float(f["flow"].iloc[k + 1 :].sum())
                if k >= 0
                else float(f["value"].iloc[0] + f["flow"].iloc[1:].sum())
            )
            act["start_value"] = _m(start, ccy)
            act["net_flows"] = _m(flows, ccy)
            # Rounded lines that add up: start + flows + income + fees + market change = end.
            d = {k: money(act[k], ccy) for k in ("start_value", "net_flows", "deposits", "withdrawals",
                                                 "income_net", "fees", "end_value")}  # fmt: skip
            act["other_flows"] = float(d["net_flows"] - d["deposits"] - d["withdrawals"])
            act["market_change"] = float(
                d["end_value"] - d["start_value"] - d["net_flows"] - d["income_net"] - d["fees"]
            )
            b = benchmark(a, f.index, grid)
            doc["benchmark"] = b[0] if b else None
            doc["performance"] = {
                "source": h.source,
                "windows": window_returns(h, period, b[1] if b else None),
            }
            doc["chart"] = _chart(f, f.index[0])
        else:
            doc["benchmark"] = None
            doc["performance"] = {"source": None, "note": h, "windows": []}
            doc["chart"] = []
        doc["activity"] = act
        doc["account_id"] = aid
        docs.append(doc)
    return docs
