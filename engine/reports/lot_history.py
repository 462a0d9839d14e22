"""Quantity of each security an account held on each date, rebuilt from its lots and splits.

Every piece of a lot is a segment: an open lot holds its quantity from its start to now; a part
relieved by a sale (a realized_gains row) holds the quantity sold from its start until the sale
date (exclusive: at the end of the sale day it is gone). A lot opened by a booked trade starts on
the trade date (not its wash-sale-adjusted holding start); a lot that arrived without a booked
trade (import, demo book, transfer in kind) starts on its `acquired` date and is flagged as not
booked. Quantities are stated as of a reference date (now for open lots, the sale date for sold
parts), so splits are unwound: on a date d the segment held quantity x C(d) / C(ref), where C(t)
is the product of the security's applied split factors (new/old) with ex-date on or before t.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CorporateAction, RealizedGain
from engine.store.positions import TaxLot

NEVER = np.datetime64("9999-12-31", "D")


def _trade_starts(session: Session, account_id: int) -> dict[str, np.datetime64]:
    """lot_ref -> trade date for the lots this account's buy bookings opened."""
    return {
        str(ref): np.datetime64(d, "D")
        for ref, d in session.execute(
            select(Booking.lot_ref, Booking.trade_date).where(
                Booking.account_id == account_id, Booking.kind == "trade", Booking.lot_ref.is_not(None)
            )
        ).all()
    }


def _start_of(ref: str, acquired: date, starts: dict[str, np.datetime64]) -> tuple[np.datetime64, bool]:
    """(start date, booked) of a lot; a wash-sale split-off `<ref>-W<n>` starts with its parent buy."""
    key = ref if ref in starts else ref.split("-W", 1)[0]
    if key in starts:
        return starts[key], True
    return np.datetime64(acquired, "D"), False


def lot_segments(session: Session, account_id: int) -> pd.DataFrame:
    """Columns security_id, quantity (at ref), start, end (NEVER if open), ref, booked."""
    starts = _trade_starts(session, account_id)
    rows: list[tuple[int, float, np.datetime64, np.datetime64, np.datetime64, bool]] = []
    for ref, sid, qty, acquired in session.execute(
        select(TaxLot.lot_ref, TaxLot.security_id, TaxLot.quantity, TaxLot.acquired).where(
            TaxLot.account_id == account_id
        )
    ):
        start, booked = _start_of(ref or "", acquired, starts)
        rows.append((sid, float(qty), start, NEVER, NEVER, booked))
    for ref, sid, qty, acquired, sold in session.execute(
        select(
            RealizedGain.lot_ref,
            RealizedGain.security_id,
            RealizedGain.quantity,
            RealizedGain.acquired,
            RealizedGain.sold,
        ).where(RealizedGain.account_id == account_id)
    ):
        start, booked = _start_of(ref or "", acquired, starts)
        end = np.datetime64(sold, "D")
        rows.append((sid, float(qty), start, end, end, booked))
    return pd.DataFrame(rows, columns=["security_id", "quantity", "start", "end", "ref", "booked"]).astype(
        {"security_id": np.int64, "quantity": float, "booked": bool}
    )


Splits = dict[int, list[tuple[np.datetime64, float]]]


def split_factors(session: Session, security_ids: list[int]) -> Splits:
    """Applied splits of these securities: security_id -> [(ex_date, factor new/old)]."""
    out: Splits = {}
    for sid, ex, new, old in session.execute(
        select(
            CorporateAction.security_id,
            CorporateAction.ex_date,
            CorporateAction.ratio_new,
            CorporateAction.ratio_old,
        ).where(
            CorporateAction.kind == "split",
            CorporateAction.applied_at.is_not(None),
            CorporateAction.security_id.in_(security_ids),
        )
    ):
        if new is None or old is None:
            continue  # not a split's ratio
        out.setdefault(sid, []).append((np.datetime64(ex, "D"), float(new) / float(old)))
    return out


def cumulative_factor(splits: Splits, security_id: int, when: np.ndarray) -> np.ndarray:
    """C(t) for each t in `when`: product of the security's split factors with ex-date <= t."""
    out = np.ones(len(when))
    for ex, f in splits.get(security_id, ()):
        out *= np.where(when >= ex, f, 1.0)
    return out


@dataclass(frozen=True)
class QuantityHistory:
    """Daily quantities (dates x securities) and the lots that arrived in kind during the range."""

    dates: np.ndarray  # datetime64[D]
    security_ids: np.ndarray  # int64, columns of `quantity`
    quantity: np.ndarray  # float64, dates x securities
    arrivals: pd.DataFrame  # date index (row of `dates`), column (of security_ids), quantity


def quantity_history(segments: pd.DataFrame, splits: Splits, dates: np.ndarray) -> QuantityHistory:
    """Quantities held on each of `dates` (datetime64[D], ascending), splits unwound; no loop per lot."""
    sec_ids = np.unique(segments["security_id"].to_numpy()) if len(segments) else np.zeros(0, np.int64)
    n, m = len(dates), len(sec_ids)
    col = np.searchsorted(sec_ids, segments["security_id"].to_numpy())
    start = segments["start"].to_numpy(dtype="datetime64[D]")
    end = segments["end"].to_numpy(dtype="datetime64[D]")
    ref = segments["ref"].to_numpy(dtype="datetime64[D]")
    grid_c = np.ones((n, m))
    ref_c = np.ones(len(segments))
    for j, sid in enumerate(sec_ids):
        if int(sid) in splits:
            grid_c[:, j] = cumulative_factor(splits, int(sid), dates)
            rows = col == j
            ref_c[rows] = cumulative_factor(splits, int(sid), ref[rows])
    # Quantity in "units of C": constant over a segment's life, a step function summed by cumsum.
    units = segments["quantity"].to_numpy(dtype=float) / ref_c
    first = np.searchsorted(dates, start, side="left")
    stop = np.searchsorted(dates, end, side="left")
    diff = np.zeros((n + 1, m))
    np.add.at(diff, (first, col), units)
    np.add.at(diff, (stop, col), -units)
    quantity = np.cumsum(diff[:-1], axis=0) * grid_c
    quantity[np.abs(quantity) < 1e-9] = 0.0
    # Not booked and starting after the first date: arrived in kind (first > 0 means start > dates[0]).
    came = (~segments["booked"].to_numpy(dtype=bool)) & (first > 0) & (first < stop)
    arrivals = pd.DataFrame(
        {
            "row": first[came],
            "col": col[came],
            "quantity": units[came] * grid_c[first[came], col[came]] if came.any() else np.zeros(0),
        }
    )
    return QuantityHistory(dates, sec_ids.astype(np.int64), quantity, arrivals)
