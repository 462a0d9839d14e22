"""The risk model is built once per distinct window of closes, and a corrected close builds anew."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import select, update

from engine.rebalance import risk
from engine.rebalance.run_inputs import load_book_universe
from engine.store.database import Database
from engine.store.market import PriceBar


def _fresh(database: Database) -> tuple[np.ndarray, np.ndarray]:
    """The model built from nothing remembered: the reference a remembered model must equal."""
    risk.forget()
    u = load_book_universe(database)
    return u.exposures, u.specific


def test_a_window_of_closes_builds_its_model_once_and_a_correction_builds_a_new_one(
    book_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    database = Database(f"sqlite:///{path}")
    try:
        ref_b, ref_s = _fresh(database)
        built, reused = risk.stats["built"], risk.stats["reused"]
        u = load_book_universe(database)
        assert (risk.stats["built"], risk.stats["reused"]) == (built, reused + 1)
        assert np.array_equal(u.exposures, ref_b) and np.array_equal(u.specific, ref_s)
        u.exposures[:] = 0.0  # a caller's copy: the remembered model is not touched
        assert np.array_equal(load_book_universe(database).exposures, ref_b)

        with database.session() as s:  # a desk corrects one close inside the window
            bar = s.execute(select(PriceBar).order_by(PriceBar.date.desc()).limit(1)).scalar_one()
            sid, day, close = bar.security_id, bar.date, bar.close
            s.execute(
                update(PriceBar)
                .where(PriceBar.security_id == sid, PriceBar.date == day)
                .values(close=close * Decimal("1.25"))
            )
            s.commit()
        built = risk.stats["built"]
        corrected = load_book_universe(database)
        assert risk.stats["built"] == built + 1
        fresh_b, fresh_s = _fresh(database)
        assert np.array_equal(corrected.exposures, fresh_b) and np.array_equal(corrected.specific, fresh_s)
        assert not np.array_equal(fresh_s, ref_s)
    finally:
        risk.forget()
        database.dispose()
