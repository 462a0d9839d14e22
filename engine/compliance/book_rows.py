"""The compliance book's per-security and per-position columns built from plain rows, not pandas.

A single order's check loads a few accounts and a few hundred securities; building pandas frames,
maps and group-bys for such small inputs cost more than the queries (docs/compliance.md, "How a
single order's check loads its book"). Each function here gives the same numbers as the pandas
code it replaced.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from engine.pricing.fx import FxTable
from engine.pricing.prices import last_close_rows

ADV_DAYS = 20


def last_closes(session: Session, as_of: date, security_ids: Collection[int] | None) -> dict[int, float]:
    """Each priced security's last close on or before `as_of` (engine.pricing.prices.last_close_rows),
    as a dict."""
    return {int(i): float(c) for i, _d, c in last_close_rows(session, as_of, security_ids)}


def average_volumes(rows: Sequence[Any]) -> dict[int, float]:
    """Average daily volume per security over its last ADV_DAYS bars, from (security_id, date,
    volume) rows; rows missing any of the three are ignored."""
    by_sec: dict[int, list[tuple[Any, Any]]] = {}
    for sid, d, v in rows:
        if sid is not None and d is not None and v is not None:
            by_sec.setdefault(int(sid), []).append((d, v))
    out = {}
    for sid, bars in by_sec.items():
        bars.sort(key=lambda b: b[0])
        out[sid] = float(np.mean(np.asarray([v for _d, v in bars[-ADV_DAYS:]], dtype=float)))
    return out


def _as_date(x: Any) -> date:
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, date):
        return x
    return date.fromisoformat(str(x)[:10])


def days_since_buy(
    rows: Sequence[Any],
    as_of: date,
    acct_pos: dict[int, int],
    sec_pos: dict[int, int],
    pos_a: np.ndarray,
    pos_s: np.ndarray,
) -> np.ndarray:
    """Per position, days since its most recent lot was acquired (inf: none recent), from
    (account_id, security_id, last acquired) rows."""
    days = np.full(len(pos_a), np.inf)
    if not rows or not len(pos_a):
        return days
    n_sec = len(sec_pos)
    keys, ages = [], []
    for aid, sid, last in rows:
        a, s = acct_pos.get(int(aid)), sec_pos.get(int(sid))
        if a is not None and s is not None and last is not None:
            keys.append(a * n_sec + s)
            ages.append(float((as_of - _as_date(last)).days))
    if not keys:
        return days
    pk = pos_a * n_sec + pos_s  # sorted: positions come out of np.unique
    rk = np.asarray(keys, dtype=np.int64)
    at = np.clip(np.searchsorted(pk, rk), 0, len(pk) - 1)
    hit = pk[at] == rk
    days[at[hit]] = np.asarray(ages)[hit]
    return days


KEEP = 32
"""Matrices remembered per table (distinct currency sets and dates); past it they are forgotten."""

_matrices: weakref.WeakKeyDictionary[FxTable, dict[tuple[tuple[str, ...], date], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def fx_matrix(table: FxTable, currencies: tuple[str, ...], as_of: date) -> np.ndarray:
    """fx[i, j]: units of currencies[j] per one currencies[i] on `as_of`. Remembered per table (a
    table is built from its rates and never changes, engine.pricing.fx_memo); a copy each call."""
    key = (currencies, as_of)
    with _lock:
        known = _matrices.get(table, {}).get(key)
    if known is None:
        n = len(currencies)
        frm = np.repeat(np.array(currencies, dtype=object), n)
        to = np.tile(np.array(currencies, dtype=object), n)
        known = table.rates(frm, to, as_of).reshape(n, n)
        with _lock:
            per_table = _matrices.setdefault(table, {})
            if len(per_table) >= KEEP:
                per_table.clear()
            per_table[key] = known
    return known.copy()
