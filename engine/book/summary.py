"""A one-page summary of a book: what it holds, what it is worth, and where its data came from."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from engine.pricing.fx import FxTable
from engine.pricing.prices import latest_price_date
from engine.pricing.valuation import value_cash, value_lots
from engine.store.accounts import Account, Household, Model
from engine.store.base import Base
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.positions import TaxLot
from engine.store.reference import Security

REPORT_CURRENCY = "USD"


def book_summary(database: Database, as_of: date | None = None) -> dict[str, Any]:
    """Counts, assets by base currency, gains and losses, models: the `demo --json` document."""
    with database.session() as session:
        meta = {m.key: m.value for m in session.scalars(select(BookMeta))}
        as_of = as_of or (
            date.fromisoformat(meta["as_of"]) if "as_of" in meta else latest_price_date(session)
        )

        def count(table: type[Base]) -> int:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())

        secs = pd.DataFrame(
            session.execute(select(Security.mic, Security.currency, Security.asset_class)).all()
        )
        summary: dict[str, Any] = {
            "as_of": as_of.isoformat() if as_of else None,
            "kind": meta.get("kind", "book"),
            "sources": {k: v for k, v in meta.items() if k in ("price_source", "fx_source", "issuers")},
            "counts": {
                "securities": count(Security),
                "exchanges": int(secs["mic"].nunique()) if len(secs) else 0,
                "currencies": int(secs["currency"].nunique()) if len(secs) else 0,
                "models": count(Model),
                "households": count(Household),
                "accounts": count(Account),
                "tax_lots": count(TaxLot),
            },
            "securities_by_asset_class": secs["asset_class"].value_counts().sort_index().to_dict()
            if len(secs)
            else {},
        }
        if as_of is None or summary["counts"]["accounts"] == 0:
            summary.update(by_base_currency=[], firm_aum_usd=0.0, unrealized={}, models=[])
            return summary
        fx = FxTable.load(session, end=as_of)
        lots = value_lots(session, as_of, fx)
        cash = value_cash(session, as_of, fx)
        accts = pd.DataFrame(
            session.execute(
                select(Account.id, Account.base_currency, Model.code, Model.name).join(Model, isouter=True)
            ).all(),
            columns=["account_id", "base_currency", "model", "model_name"],
        )
    value = (
        lots.groupby("account_id")["mv_base"]
        .sum()
        .add(cash.groupby("account_id")["value_base"].sum(), fill_value=0.0)
    )
    accts["value_base"] = accts["account_id"].map(value).fillna(0.0)
    accts["value_usd"] = accts["value_base"] * fx.rates(
        accts["base_currency"], [REPORT_CURRENCY] * len(accts), [as_of] * len(accts)
    )
    by_ccy = (
        accts.groupby("base_currency")
        .agg(accounts=("account_id", "size"), aum_base=("value_base", "sum"), aum_usd=("value_usd", "sum"))
        .reset_index()
        .sort_values("aum_usd", ascending=False)
    )
    lots["to_usd"] = fx.rates(lots["base_currency"], [REPORT_CURRENCY] * len(lots), as_of)
    gain_usd = lots["unrealized_base"] * lots["to_usd"]
    models = (
        accts.groupby(["model", "model_name"], dropna=False)
        .agg(accounts=("account_id", "size"), aum_usd=("value_usd", "sum"))
        .reset_index()
        .sort_values("model")
    )
    summary.update(
        by_base_currency=[
            {
                "currency": r.base_currency,
                "accounts": int(r.accounts),
                "aum": round(float(r.aum_base), 2),
                "aum_usd": round(float(r.aum_usd), 2),
            }
            for r in by_ccy.itertuples()
        ],
        firm_aum_usd=round(float(accts["value_usd"].sum()), 2),
        unrealized={
            "lots_with_gain": int((gain_usd > 0).sum()),
            "lots_with_loss": int((gain_usd < 0).sum()),
            "gains_usd": round(float(gain_usd[gain_usd > 0].sum()), 2),
            "losses_usd": round(float(gain_usd[gain_usd < 0].sum()), 2),
        },
        models=[
            {
                "code": r.model,
                "name": r.model_name,
                "accounts": int(r.accounts),
                "aum_usd": round(float(r.aum_usd), 2),
            }
            for r in models.itertuples()
        ],
    )
    return summary
