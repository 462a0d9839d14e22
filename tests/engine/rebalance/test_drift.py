"""Drift against an independent valuation (engine.pricing.valuation) and model look-through."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from engine.demo.models import build_models, flatten
from engine.demo.universe import build_universe
from engine.pricing.fx import FxTable
from engine.pricing.valuation import value_cash, value_lots
from engine.rebalance.drift import book_drift
from engine.store.accounts import Model
from engine.store.database import Database


def test_weights_match_the_foundation_valuation(book: Database, loaded: Any) -> None:
    u, accounts = loaded
    bd = book_drift(u, accounts)
    with book.session() as s:
        fx = FxTable.load(s, end=u.as_of)
        lots = value_lots(s, u.as_of, fx)
        cash = value_cash(s, u.as_of, fx)
    for i, a in enumerate(accounts[:10]):
        mine = lots[lots["account_id"] == a.id]
        total = mine["mv_base"].sum() + cash.loc[cash["account_id"] == a.id, "value_base"].sum()
        assert bd.value[i] == pytest.approx(total, rel=1e-9)
        by_sec = mine.groupby("security_id")["mv_base"].sum() / total
        idx = u.index_of()
        for sid, w in by_sec.items():
            assert bd.weights[i, idx[int(sid)]] == pytest.approx(w, rel=1e-9)


def test_model_look_through_of_sub_models(book: Database, loaded: Any) -> None:
    u, _accounts = loaded
    flat = flatten(build_models(build_universe()))
    with book.session() as s:
        ids = dict(s.execute(select(Model.code, Model.id)).all())
    growth = u.models[ids["GROWTH"]]
    for sym, w in flat["GROWTH"].items():
        assert growth[list(u.symbols).index(sym)] == pytest.approx(w, abs=1e-12)
    assert growth.sum() == pytest.approx(1.0, abs=1e-9)


def test_drift_by_dimension_and_ranking(loaded: Any) -> None:
    u, accounts = loaded
    bd = book_drift(u, accounts)
    _labels, cur, _mod = bd.by("sector")
    assert np.allclose(cur.sum(axis=1) + bd.cash_weight(), 1.0)
    _c_labels, c_cur, c_mod = bd.by_currency()
    assert np.allclose(c_cur.sum(axis=1), 1.0) and np.allclose(c_mod.sum(axis=1), 1.0)
    rows = bd.summary()
    assert [r["ratio"] for r in rows] == sorted((r["ratio"] for r in rows), reverse=True)
    detail = bd.account_detail(0)
    assert set(detail["by"]) == {"sector", "asset_class", "country", "currency"}
    drifted = set(bd.drifted())
    for r in rows:
        acc = next(a for a in accounts if a.code == r["account"])
        assert (acc.id in drifted) == bool(r["triggers"])
