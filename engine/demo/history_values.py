"""Close the SIMULATED history's quiet weekdays in bulk: values from a snapshot, flows zero.

Between two real closes nothing is booked (the plan puts every flow, trade and action on a real
close), so each account's holdings and cash stay as the earlier close left them and only prices
and FX move. `Market` holds the closes and ECB rates forward-filled over the weekdays (the same
numbers the store has: last close on or before the date, last fixing on or before it), `Snapshot`
the positions and cash after a close; `quiet_values` values every account on each quiet day
with numpy (in the history's worker process), `insert_quiet_values` inserts the rows in bulk, and
`record_quiet_days` records each date as a closed day run whose one step
(`daily_values`) says it was closed in bulk: every status through engine.state.daycycle, audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from engine.daycycle.tables import AccountDailyValue, DayRun, DayStep
from engine.model.currency import minor_units
from engine.pricing.valuation import load_lot_values
from engine.state.daycycle import DAY_RUNS, DAY_STEPS, RUNNING
from engine.store.accounts import Account
from engine.store.base import utcnow
from engine.store.bulk import CHUNK, insert_frame
from engine.store.positions import CashBalance

DAY_CELLS = 2_000_000  # days x positions valued at a time (16 MB per array)
QUIET_COLUMNS = ("account_id", "day", "base_currency", "market_value", "cash", "value", "flows", "cash_flows",
                 "transfers", "income", "fees", "stale")  # fmt: skip
BULK_NOTE = "simulated history: nothing booked on this date; value from the last close's holdings"


@dataclass(frozen=True)
class Market:
    """Closes (weekday x security id) and units per EUR (weekday x currency), forward-filled;
    the raw closes (date x symbol, NaN off-session); each symbol's id and currency."""

    prices: pd.DataFrame
    eur_per: pd.DataFrame
    raw: pd.DataFrame
    symbols: dict[str, int]
    currency: dict[str, str]

    @classmethod
    def build(
        cls, closes: pd.DataFrame, sec_id: dict[str, int], currency: dict[str, str], ecb: pd.DataFrame,
        days: pd.DatetimeIndex,
    ) -> Market:  # fmt: skip
        grid = closes.index.union(days)
        px = closes.reindex(grid).ffill().reindex(days)
        px.columns = [sec_id[s] for s in px.columns]
        fx = ecb.reindex(ecb.index.union(days)).ffill().reindex(days)
        fx["EUR"] = 1.0
        return cls(px, fx, closes, dict(sec_id), dict(currency))

    def closes_on(self, day: date) -> pd.Series:
        """symbol -> close on `day` (NaN where its market did not trade)."""
        t = pd.Timestamp(day)
        return self.raw.loc[t] if t in self.raw.index else pd.Series(dtype=float)

    def rate(self, rows: np.ndarray, ccy: Sequence[str], base: Sequence[str]) -> np.ndarray:
        """days(rows) x items: units of `base` per unit of `ccy`."""
        return self.pair_rates(rows, *self.pairs(ccy, base))

    def pairs(
        self, ccy: Sequence[str] | pd.Series, base: Sequence[str] | pd.Series
    ) -> tuple[np.ndarray, np.ndarray]:
        """(each distinct base/ccy pair as column indexes: pairs x 2, each item's pair): looked up
        by array, not per item (a book's positions are hundreds of thousands of items)."""
        cols = self.eur_per.columns
        b = cols.get_indexer(pd.Index(np.asarray(base, dtype=object)))
        c = cols.get_indexer(pd.Index(np.asarray(ccy, dtype=object)))
        if (b < 0).any() or (c < 0).any():
            raise KeyError("a currency without ECB rates in the simulated market")
        codes, which = np.unique(b * len(cols) + c, return_inverse=True)
        return np.stack([codes // len(cols), codes % len(cols)], axis=1), which.ravel()

    def pair_rates(self, rows: np.ndarray, pairs: np.ndarray, which: np.ndarray) -> np.ndarray:
        """days(rows) x items: each pair's rate (base per ccy) computed once, spread to its items."""
        e = self.eur_per.to_numpy()[rows]
        return (e[:, pairs[:, 0]] / e[:, pairs[:, 1]])[:, which]


@dataclass(frozen=True)
class Snapshot:
    """Positions and trade-date cash of every account as a close left them."""

    accounts: pd.DataFrame  # index account_id: base_currency
    positions: pd.DataFrame  # account_id, security_id, quantity, multiplier, currency
    cash: pd.DataFrame  # account_id, currency, amount

    @classmethod
    def take(cls, session: Session) -> Snapshot:
        """The book as stored now: every lot read."""
        return cls.of_lots(session, load_lot_values(session))

    @classmethod
    def of_lots(cls, session: Session, lots: pd.DataFrame) -> Snapshot:
        """The book with `lots` (as load_lot_values read them, other columns ignored) and the
        stored cash: a close's revaluation read the lots already, and they did not change since."""
        accts = pd.DataFrame(
            session.execute(select(Account.id, Account.base_currency).order_by(Account.id)).all(),
            columns=["account_id", "base_currency"],
        ).set_index("account_id")
        lots = lots[lots["quantity"] != 0]
        pos = (
            lots.assign(currency=lots["currency"].astype(str))
            .groupby(["account_id", "security_id", "currency", "price_multiplier"], as_index=False)[
                "quantity"
            ]
            .sum()
        )
        cash = pd.DataFrame(
            session.execute(
                select(
                    CashBalance.account_id, CashBalance.currency, CashBalance.settled + CashBalance.unsettled
                )
            ).all(),
            columns=["account_id", "currency", "amount"],
        )
        cash["amount"] = cash["amount"].astype(float)
        return cls(accts, pos, cash)

    def portable(self) -> Snapshot:
        """The same snapshot, cheaper to send to a worker process: the positions' currency as a
        categorical (valued the same: value_days reads it back as the same strings)."""
        return Snapshot(self.accounts, self.positions.assign(currency=self.positions["currency"].astype("category")),
                        self.cash)  # fmt: skip


def value_days(snap: Snapshot, market: Market, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(market value, cash): days x accounts (snapshot's account order), in each base currency.
    Each account's items are summed in the snapshot's order (bincount adds in index order, as
    np.add.at did), in chunks of days so 10,000 accounts' positions stay a few MB at a time."""
    rows = market.prices.index.get_indexer(days)
    ids = snap.accounts.index.to_numpy()
    base = snap.accounts["base_currency"]
    n_acc = len(ids)
    mv = np.zeros((len(days), n_acc))
    cash = np.zeros_like(mv)
    p, c = snap.positions, snap.cash
    prices = market.prices.to_numpy()
    if len(p):
        col = market.prices.columns.get_indexer(p["security_id"])
        p_pairs = market.pairs(p["currency"], base.reindex(p["account_id"]))
        qm = p["quantity"].to_numpy() * p["price_multiplier"].to_numpy()
        p_at = np.searchsorted(ids, p["account_id"].to_numpy())
    if len(c):
        c_pairs = market.pairs(c["currency"], base.reindex(c["account_id"]))
        amount = c["amount"].to_numpy()
        c_at = np.searchsorted(ids, c["account_id"].to_numpy())
    step = max(1, DAY_CELLS // max(1, len(p)))
    for lo in range(0, len(days), step):
        r = rows[lo : lo + step]
        n = len(r)
        if len(p):
            px = np.nan_to_num(prices[r][:, col])
            each = px * market.pair_rates(r, *p_pairs) * qm
            mv[lo : lo + n] = _sum_by(each, p_at, n_acc)
        if len(c):
            cash[lo : lo + n] = _sum_by(market.pair_rates(r, *c_pairs) * amount, c_at, n_acc)
    return mv, cash


def _sum_by(each: np.ndarray, at: np.ndarray, n_acc: int) -> np.ndarray:
    """days x items -> days x accounts: each row's items summed into their account, in order."""
    n = each.shape[0]
    flat = (np.arange(n)[:, None] * n_acc + at[None, :]).ravel()
    return np.bincount(flat, weights=each.ravel(), minlength=n * n_acc).reshape(n, n_acc)


@dataclass(frozen=True)
class QuietValues:
    """The quiet days' values: days x accounts (the snapshot's order), rounded to each base
    currency's minor units. Plain arrays: computed in a worker process, stored by the builder."""

    days: list[date]
    ids: np.ndarray
    base: np.ndarray
    market_value: np.ndarray
    cash: np.ndarray


_MARKET: list[Market] = []  # a worker process's market (set once by its initializer)


def init_worker(market: Market) -> None:
    """A quiet-days worker's initializer: keep the market (sent once, not with every batch)."""
    _MARKET[:] = [market]


def quiet_values_in_worker(snap: Snapshot, days: list[date]) -> QuietValues:
    """quiet_values in a worker process, on the market its initializer kept."""
    return quiet_values(snap, _MARKET[0], days)


def quiet_values(snap: Snapshot, market: Market, days: list[date]) -> QuietValues:
    """Value every account on each of `days` from the snapshot (no store read: a worker may run it)."""
    index = pd.DatetimeIndex([pd.Timestamp(d) for d in days])
    mv, cash = value_days(snap, market, index)
    base = snap.accounts["base_currency"].to_numpy()
    dec = np.array([minor_units(str(b)) for b in base])
    mv_r, cash_r = np.empty_like(mv), np.empty_like(cash)
    for d in np.unique(dec):
        sel = dec == d
        mv_r[:, sel], cash_r[:, sel] = np.round(mv[:, sel], int(d)), np.round(cash[:, sel], int(d))
    return QuietValues(list(days), snap.accounts.index.to_numpy(), base, mv_r, cash_r)


def insert_quiet_values(session: Session, q: QuietValues) -> int:
    """Store the quiet days' values with zero flows (the rows of quiet_frame, in its order);
    returns rows stored."""
    n_days, n_acc = q.market_value.shape
    mv_r, cash_r = q.market_value, q.cash
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not (np.isnan(mv_r).any() or np.isnan(cash_r).any()):
        # The values insert_frame would bind, built straight from the arrays (no frame, no
        # per-value date formatting): ISO dates, REALs, 0.0 flows, 0 stale; the same rows.
        n = n_days * n_acc
        zeros = [0.0] * n
        columns = [
            np.repeat(q.ids, n_days).tolist(), [d.isoformat() for d in q.days] * n_acc,
            np.repeat(q.base, n_days).tolist(), mv_r.T.ravel().tolist(), cash_r.T.ravel().tolist(),
            (mv_r + cash_r).T.ravel().tolist(), zeros, zeros, zeros, zeros, zeros, [0] * n,
        ]  # fmt: skip
        rows = list(zip(*columns))
        sql = f'INSERT INTO "{AccountDailyValue.__tablename__}" ({", ".join(QUIET_COLUMNS)}) VALUES ({", ".join("?" * len(QUIET_COLUMNS))})'
        for start in range(0, n, CHUNK):
            conn.exec_driver_sql(sql, rows[start : start + CHUNK])
        return n
    return insert_frame(session, AccountDailyValue.__table__, quiet_frame(q))


def quiet_frame(q: QuietValues) -> pd.DataFrame:
    """The quiet days' rows as a frame, account-major (each account's days together): the primary
    key (account_id, day) then grows at one place per account instead of at every account on
    every day (a third less CPU and a fraction of the page writes on SQLite)."""
    n_days, n_acc = q.market_value.shape
    mv_r, cash_r = q.market_value, q.cash
    return pd.DataFrame(
        {
            "account_id": np.repeat(q.ids, n_days),
            "day": np.tile(np.array(q.days, dtype=object), n_acc),
            "base_currency": np.repeat(q.base, n_days),
            "market_value": mv_r.T.ravel(),
            "cash": cash_r.T.ravel(),
            "value": (mv_r + cash_r).T.ravel(),
            "flows": 0.0,
            "cash_flows": 0.0,
            "transfers": 0.0,
            "income": 0.0,
            "fees": 0.0,
            "stale": 0,
        }
    )[list(QUIET_COLUMNS)]


def record_quiet_days(session: Session, days: list[date], n_acc: int, username: str) -> None:
    """Each of `days` a closed day run with one bulk `daily_values` step, every status through
    engine.state.daycycle (audited)."""
    now = utcnow()
    run_ids = DAY_RUNS.insert_many(
        session, cast(Table, DayRun.__table__),
        [{"day": d, "status": RUNNING, "run_by": username, "started_at": now, "finished_at": now, "version": 1}
         for d in days],
        actor=username, event="start", detail=lambda r: {"day": r["day"], "bulk": True},
    )  # fmt: skip
    step_ids = DAY_STEPS.insert_many(
        session, cast(Table, DayStep.__table__),
        [{"run_id": rid, "day": d, "step": "daily_values", "position": 5, "status": RUNNING,
          "counts": {"accounts": n_acc, "bulk": True, "note": BULK_NOTE}, "exceptions": [],
          "started_at": now, "finished_at": now, "version": 1} for rid, d in zip(run_ids, days)],
        actor=username, event="start",
    )  # fmt: skip
    steps = list(session.scalars(select(DayStep).where(DayStep.id.in_(step_ids))))
    DAY_STEPS.fire_many(session, steps, "finish", actor=username, detail={"bulk": True})
    runs = list(session.scalars(select(DayRun).where(DayRun.id.in_(run_ids))))
    DAY_RUNS.fire_many(session, runs, "close", actor=username, detail={"bulk": True})


def stored_days(session: Session) -> int:
    """How many dates have stored values (for the summary)."""
    return int(session.scalar(select(func.count(func.distinct(AccountDailyValue.day)))) or 0)
