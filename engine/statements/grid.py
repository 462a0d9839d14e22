"""One price load for a batch of accounts: closes of every security they hold or their models
hold, on the price dates of the statement's year, shared by every account's rebuilt history and
by the model benchmarks (instead of one price query per account and per benchmark)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from engine.accounting.tables import RealizedGain
from engine.pricing.fx import FxTable
from engine.reports.history import closes, price_dates
from engine.reports.lot_history import cumulative_factor, split_factors
from engine.reports.performance import _model_weights
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security


class PriceGrid:
    """Closes (dates x securities) of a batch over [start, end], and the model benchmarks from them."""

    def __init__(self, session: Session, ids: list[int], start: date, end: date, fx: FxTable) -> None:
        self.session, self.fx = session, fx
        self.dates = price_dates(session, start, end)
        held = union(
            select(TaxLot.security_id).where(TaxLot.account_id.in_(ids)),
            select(RealizedGain.security_id).where(
                RealizedGain.account_id.in_(ids), RealizedGain.sold >= start
            ),
        )
        secs = {int(s) for s in session.scalars(held)}
        self.models: dict[int, dict[int, float]] = {}
        for mid in set(session.scalars(select(Account.model_id).where(Account.id.in_(ids)))) - {None}:
            assert mid is not None
            self.models[mid] = _model_weights(session, mid)
            secs |= set(self.models[mid])
        self.ids = np.array(sorted(secs), dtype=np.int64)
        self.grid = closes(session, self.ids, self.dates)
        self.bench: dict[tuple[int, str], pd.Series] = {}
        self.rates: dict[tuple[str, str], np.ndarray] = {}

    def closes_of(self, security_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """The `closes` grid for these securities (all of the batch's) on the batch's dates."""
        if len(dates) != len(self.dates) or not (dates == self.dates).all():
            return closes(self.session, security_ids, dates)
        cols = np.searchsorted(self.ids, security_ids)
        if (len(cols) and (cols >= len(self.ids)).any()) or not (
            self.ids[np.minimum(cols, len(self.ids) - 1)] == security_ids
        ).all():
            return closes(self.session, security_ids, dates)
        return self.grid[:, cols]

    def rate(self, ccy: str, base: str) -> np.ndarray:
        """Units of `base` per `ccy` on each of the batch's dates (cached)."""
        key = (ccy, base)
        if key not in self.rates:
            n = len(self.dates)
            self.rates[key] = self.fx.rates([ccy] * n, [base] * n, list(self.dates))
        return self.rates[key]

    def model_returns(self, model_id: int, base: str) -> pd.Series:
        """Daily returns of the model's flattened weights rebalanced daily, in `base` (as
        engine.reports.performance.benchmark_returns: split-adjusted closes, the rest in cash at 0)."""
        key = (model_id, base)
        if key not in self.bench:
            weights = self.models[model_id]
            sids = sorted(weights)
            cols = np.searchsorted(self.ids, sids)
            index = pd.DatetimeIndex(self.dates)
            wide = pd.DataFrame(self.grid[:, cols], index=index, columns=sids)
            ccy = dict(
                self.session.execute(
                    select(Security.id, Security.currency).where(Security.id.in_(sids))
                ).all()
            )
            splits = split_factors(self.session, sids)
            adjust = np.column_stack([cumulative_factor(splits, sid, self.dates) for sid in sids])
            rate = np.column_stack([self.rate(ccy[sid], base) for sid in sids])
            wide = wide * adjust * rate
            rets = wide.pct_change(fill_method=None).iloc[1:]
            w = np.array([weights[s] for s in sids])
            self.bench[key] = pd.Series(rets.fillna(0.0).to_numpy() @ w, index=rets.index)
        return self.bench[key]
