"""The run's bulk read (rawsql.csv_frame) on SQLite and PostgreSQL: numbers read as whole
micro-units come back equal to the stored Decimals, NULL comes back as NaN, and text read as a
categorical keeps every value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import select

from engine.reconcile.rawsql import csv_frame, pair_key, scaled
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from tests.engine.reconcile.minibook import build

QUANTITIES = ["0.000001", "12345678.123456", "-250.5", "99999999.999999", "3"]


def test_scaled_numbers_nulls_and_categories_round_trip(database: Database) -> None:
    ids = build(database)
    with database.transaction() as s:
        us = s.scalar(select(Account.id).where(Account.code == "A000001"))
        for i, q in enumerate(QUANTITIES):
            s.add(
                TaxLot(account_id=us, security_id=ids["AAA"], lot_ref=f"RT-{i}", quantity=Decimal(q),
                       unit_cost=Decimal(1), acquired=date(2026, 1, 5), fx_rate=Decimal(1))
            )  # fmt: skip
    with database.session() as s:
        got = csv_frame(
            s,
            [
                "t.id",
                pair_key("t.account_id", "t.security_id"),
                scaled(s, "t.quantity", 6),
                f"CASE WHEN t.quantity < 0 THEN NULL ELSE {scaled(s, 't.unit_cost', 6)} END",
                "t.lot_ref",
            ],
            "FROM tax_lots t",
            [("id", "int"), ("key", "int"), ("qty", "int"), ("cost", "float"), ("ref", "category")],
        ).sort_values("id")
        want = s.execute(select(TaxLot.id, TaxLot.account_id, TaxLot.security_id, TaxLot.quantity, TaxLot.unit_cost,
                                TaxLot.lot_ref).order_by(TaxLot.id)).all()  # fmt: skip
    assert got["id"].tolist() == [w.id for w in want]
    assert got["key"].tolist() == [w.account_id * (1 << 24) + w.security_id for w in want]
    assert (got["qty"].to_numpy() / 1e6).tolist() == [float(w.quantity) for w in want]
    negative = np.array([w.quantity < 0 for w in want])
    assert np.isnan(got["cost"].to_numpy()[negative]).all()
    costs = [float(w.unit_cost) * 1e6 for w in want]
    assert got["cost"].to_numpy()[~negative].tolist() == [c for c, n in zip(costs, negative) if not n]
    assert [str(r) for r in got["ref"]] == [w.lot_ref for w in want]
