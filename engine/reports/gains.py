"""Gains: realized per lot in a date range (short and long term apart, wash sales shown), and unrealized.

Realized rows come from the ledger (engine.accounting): base-currency gain split into a price
part and a currency part, the term by the account's jurisdiction rule, and any loss disallowed
as a wash sale with the reason. Recognized gain = gain + disallowed amount. Unrealized gains
are per open lot as of the end date, classed by the same holding rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.holding import term
from engine.accounting.rules import long_after_months
from engine.accounting.tables import RealizedGain
from engine.errors import WorkstationError
from engine.pricing.fx import FxTable
from engine.pricing.valuation import value_lots
from engine.reports.numbers import QUANTITY_PLACES, allocate_money, money, round_to
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security


def _r(x: Any, currency: str) -> float:
    """An amount rounded to its currency's minor unit (JPY 0, KWD 3)."""
    return float(money(x, currency))


def _split(gain: Any, price: Any, fx: Any, currency: str) -> tuple[float, float, float]:
    """(gain, price part, FX part) rounded so that the parts add up to the rounded gain."""
    total = money(gain, currency)
    a, b = allocate_money([price, fx], currency, total)
    return float(total), float(a), float(b)


def gains_report(
    session: Session, ids: list[int], start: date | None, end: date, by: str = "lot"
) -> dict[str, Any]:
    """The `report gains --json` document (shape in docs/reports.md)."""
    if by not in ("lot", "security", "account"):
        raise WorkstationError(f"gains --by must be lot, security or account, got {by!r}")
    accts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))}
    symbols = dict(session.execute(select(Security.id, Security.symbol)).all())
    q = select(RealizedGain).where(RealizedGain.account_id.in_(ids), RealizedGain.sold <= end)
    if start is not None:
        q = q.where(RealizedGain.sold >= start)
    realized = []
    for g in session.scalars(q.order_by(RealizedGain.account_id, RealizedGain.sold, RealizedGain.id)):
        base, local = g.base_currency, g.currency
        gain, price_gain, fx_gain = _split(g.gain_base, g.price_gain_base, g.fx_gain_base, base)
        dis = _r(g.wash_disallowed_base, base)
        realized.append(
            {
                "account": accts[g.account_id].code,
                "symbol": symbols.get(g.security_id),
                "lot_ref": g.lot_ref,
                "quantity": float(g.quantity),
                "acquired": g.acquired.isoformat(),
                "sold": g.sold.isoformat(),
                "term": g.term,
                "currency": g.currency,
                "proceeds_local": _r(g.proceeds_local, local),
                "cost_local": _r(g.cost_local, local),
                "base_currency": base,
                "proceeds_base": _r(g.proceeds_base, base),
                "cost_base": _r(g.cost_base, base),
                "gain_base": gain,
                "price_gain_base": price_gain,
                "fx_gain_base": fx_gain,
                "wash_disallowed_base": dis,
                "recognized_gain_base": _r(gain + dis, base),
                "wash_note": g.wash_note,
            }
        )
    fx = FxTable.load(session, end=end)
    lots = value_lots(session, end, fx, account_ids=ids)
    refs = dict(session.execute(select(TaxLot.id, TaxLot.lot_ref).where(TaxLot.account_id.in_(ids))).all())
    unrealized = []
    for lot in lots.sort_values(["account_id", "security_id", "acquired"]).itertuples(index=False):
        acct = accts[int(lot.account_id)]
        months = long_after_months(session, acct.tax_jurisdiction)
        unrealized.append(
            {
                "account": acct.code,
                "symbol": symbols.get(int(lot.security_id)),
                "lot_ref": refs.get(int(lot.lot_id)),
                "quantity": float(lot.quantity),
                "acquired": pd.Timestamp(lot.acquired).date().isoformat(),
                "term": term(pd.Timestamp(lot.acquired).date(), end, months),
                "base_currency": lot.base_currency,
                "cost_base": _r(lot.cost_base, lot.base_currency),
                "market_value_base": _r(lot.mv_base, lot.base_currency),
                "gain_base": _r(lot.unrealized_base, lot.base_currency),
            }
        )
    totals = []
    for i in sorted(ids, key=lambda i: accts[i].code):
        code = accts[i].code
        t: dict[str, Any] = {"account": code, "base_currency": accts[i].base_currency}
        for kind, rows in (("realized", realized), ("unrealized", unrealized)):
            for tm in ("short", "long", "none"):
                mine = [r for r in rows if r["account"] == code and r["term"] == tm]
                key = "recognized_gain_base" if kind == "realized" else "gain_base"
                t[f"{kind}_{tm}_base"] = _r(sum(r[key] for r in mine), accts[i].base_currency)
        t["wash_disallowed_base"] = _r(
            sum(r["wash_disallowed_base"] for r in realized if r["account"] == code),
            accts[i].base_currency,
        )
        totals.append(t)
    if by != "lot":
        realized = _group(realized, by)
        unrealized = _group(unrealized, by)
    return {
        "report": "gains",
        "from": start.isoformat() if start else None,
        "to": end.isoformat(),
        "by": by,
        "realized": realized,
        "unrealized": unrealized,
        "totals": totals,
    }


def _group(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Sum the money columns per (account, symbol, term) or (account, term)."""
    keys = ["account", "symbol", "term"] if by == "security" else ["account", "term"]
    if not rows:
        return []
    df = pd.DataFrame(rows)
    amounts = [c for c in df.columns if c.endswith("_base") and c != "base_currency"]
    out = df.groupby([*keys, "base_currency"], sort=True)[[*amounts, "quantity"]].sum().reset_index()
    records: list[dict[str, Any]] = out.to_dict(orient="records")
    for r in records:  # sums of rounded lines: only float noise to take off
        for c in amounts:
            r[c] = _r(r[c], r["base_currency"])
        r["quantity"] = float(round_to(r["quantity"], QUANTITY_PLACES))
    return records
