"""FX rates for any currency pair on any date, vectorized.

Stored rows say "1 base = rate quote" on a date. They are turned into one wide table of
"units of each currency per one unit of a pivot currency" (EUR when present, as ECB publishes),
so any pair crosses through the pivot: rate(a -> b) = perPivot[b] / perPivot[a].
A date without a fixing (weekend, holiday) takes the last fixing at most `max_stale_days`
before it; older than that is an error, never a silent guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.market import FxRate

MAX_STALE_DAYS = 7


class FxTable:
    """Cross rates through a pivot currency, forward-filled over calendar days."""

    def __init__(self, rows: pd.DataFrame, max_stale_days: int = MAX_STALE_DAYS) -> None:
        """`rows` has columns base, quote, date, rate (rate as float)."""
        self.max_stale_days = max_stale_days
        if rows.empty:
            self.pivot = "EUR"
            self.table = pd.DataFrame(dtype=float)
            return
        rows = rows.assign(date=pd.to_datetime(rows["date"]), rate=rows["rate"].astype(float))
        ccys = pd.concat([rows["base"], rows["quote"]]).value_counts()
        self.pivot = "EUR" if "EUR" in ccys.index else str(ccys.index[0])
        p = self.pivot
        direct = rows[rows["base"] == p][["date", "quote", "rate"]].rename(columns={"quote": "ccy"})
        inverse = rows[rows["quote"] == p][["date", "base", "rate"]].rename(columns={"base": "ccy"})
        inverse = inverse.assign(rate=1.0 / inverse["rate"])
        known = pd.concat([direct, inverse]).drop_duplicates(["date", "ccy"], keep="first")
        wide = known.pivot(index="date", columns="ccy", values="rate")
        # Second pass: pairs not touching the pivot, crossed through a leg we already know.
        others = rows[(rows["base"] != p) & (rows["quote"] != p)]
        if not others.empty:
            extra = []
            for base, quote in {(b, q) for b, q in zip(others["base"], others["quote"])}:
                sub = others[(others["base"] == base) & (others["quote"] == quote)].set_index("date")["rate"]
                if base in wide.columns:
                    extra.append((quote, sub * wide[base].reindex(sub.index)))
                elif quote in wide.columns:
                    extra.append((base, wide[quote].reindex(sub.index) / sub))
            for ccy, series in extra:
                series = series.dropna()
                if ccy in wide.columns:
                    wide[ccy] = wide[ccy].combine_first(series)
                else:
                    wide = wide.join(series.rename(ccy), how="outer")
        wide[p] = 1.0
        full = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
        self.first_date = wide.index.min().date()
        self.last_date = wide.index.max().date()
        self.table = wide.reindex(full).ffill(limit=max_stale_days).sort_index()

    @classmethod
    def load(
        cls,
        session: Session,
        start: date | None = None,
        end: date | None = None,
        max_stale_days: int = MAX_STALE_DAYS,
    ) -> FxTable:
        """Rates for `start`..`end`, each date taking the last fixing at most `max_stale_days` before it."""
        q = select(FxRate.base, FxRate.quote, FxRate.date, FxRate.rate)
        if start is not None:
            q = q.where(FxRate.date >= pd.Timestamp(start).date() - pd.Timedelta(days=max_stale_days))
        if end is not None:
            q = q.where(FxRate.date <= end)
        rows = pd.DataFrame(session.execute(q).all(), columns=["base", "quote", "date", "rate"])
        return cls(rows, max_stale_days)

    @property
    def currencies(self) -> list[str]:
        return list(self.table.columns)

    def rates(
        self, from_ccy: Iterable[str], to_ccy: Iterable[str], dates: date | Iterable[object]
    ) -> np.ndarray:
        """Units of `to` per one `from`, element-wise; `dates` is one date for all, or one per row.

        Raises NotFound naming the first gap.
        """
        f = np.asarray(
            from_ccy if isinstance(from_ccy, np.ndarray | pd.Series) else list(from_ccy), dtype=object
        )
        t = np.asarray(to_ccy if isinstance(to_ccy, np.ndarray | pd.Series) else list(to_ccy), dtype=object)
        if isinstance(dates, date):
            d = pd.DatetimeIndex(np.full(len(f), np.datetime64(dates, "D")))
        else:
            d = pd.DatetimeIndex(np.asarray(list(dates), dtype="datetime64[D]"))
        out = np.ones(len(f), dtype=float)
        need = f != t
        if not need.any():
            return out
        cols = {c: i for i, c in enumerate(self.table.columns)}
        missing = sorted({c for c in np.concatenate([f[need], t[need]]) if c not in cols})
        if missing:
            raise NotFound(f"no FX rates at all for {', '.join(missing)}")
        row = self.table.index.get_indexer(d[need])
        bad = row < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NotFound(
                f"no FX rate on {d[need][i].date()} (table covers {self.first_date} to {self.last_date})"
            )
        values = self.table.to_numpy()
        fi = np.fromiter((cols[c] for c in f[need]), dtype=int)
        ti = np.fromiter((cols[c] for c in t[need]), dtype=int)
        r = values[row, ti] / values[row, fi]
        nan = np.isnan(r)
        if nan.any():
            i = int(np.flatnonzero(nan)[0])
            raise NotFound(
                f"no {f[need][i]}/{t[need][i]} rate within {self.max_stale_days} days before {d[need][i].date()}"
            )
        out[need] = r
        return out

    def rate(self, from_ccy: str, to_ccy: str, on: date) -> Decimal:
        """One rate as a Decimal (10 significant decimals), for accounting code."""
        value = float(self.rates([from_ccy], [to_ccy], [on])[0])
        return Decimal(repr(value)).quantize(Decimal("1e-10"))
