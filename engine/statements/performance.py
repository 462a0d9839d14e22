"""Each account's daily values, flows and fees for a statement, and its returns by window.

Source per account, as `report performance` chooses: the day cycle's stored daily values
(`account_daily_values`, read for all accounts of a batch in one query) when they cover the
quarter's opening close and every closed date since; else the history rebuilt from the ledger
(engine.reports.history, one account at a time) over the one-year window. Since inception is
shown where the history starts after the one-year window opens (a rebuilt history reaches back
that far only) or from the first stored value.

Returns are time-weighted with end-of-day flows (engine.analytics.time_weighted_return) net of
fees, and gross of fees with each day's fees treated as if they had been paid out of the account
(r = (V_t - F_t - fees_t) / V_{t-1} - 1, fees negative). The benchmark is the account's model as
in `report performance` (flattened, rebalanced daily, in the account's base currency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import CashMovement
from engine.analytics import AnalyticsError
from engine.daycycle.tables import AccountDailyValue, DayRun
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.reports.history import account_history
from engine.state.daycycle import CLOSED
from engine.statements.grid import PriceGrid
from engine.statements.period import Period
from engine.store.accounts import Account


@dataclass(frozen=True)
class Series:
    """An account's daily `value`, `flow` and `fees` in base currency (index: dates), and its source."""

    source: str
    frame: pd.DataFrame


def _stored(session: Session, ids: list[int], opening: date, end: date) -> dict[int, pd.DataFrame]:
    """Stored daily values of the accounts whose stored series covers `opening` to `end` (one query)."""
    closed = np.array(
        sorted(session.scalars(select(DayRun.day).where(DayRun.status == CLOSED, DayRun.day <= end))),
        dtype="datetime64[D]",
    )
    anchor = closed[closed <= np.datetime64(opening, "D")]
    if len(anchor) == 0 or len(closed) - len(anchor) < 1:
        return {}
    rows = session.execute(
        select(
            AccountDailyValue.account_id, AccountDailyValue.day, AccountDailyValue.value,
            AccountDailyValue.flows, AccountDailyValue.fees,
        ).where(AccountDailyValue.account_id.in_(ids), AccountDailyValue.day <= end)
    ).all()  # fmt: skip
    df = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "day", "value", "flow", "fees"])
    out: dict[int, pd.DataFrame] = {}
    for aid, g in df.groupby("account_id"):
        days = g["day"].to_numpy(dtype="datetime64[D]")
        order = np.argsort(days)
        days = days[order]
        first = days[0]
        need = closed[(closed >= first)]
        if first > anchor[-1] or len(days) != len(need) or not (days == need).all():
            continue  # not every closed date since its first value, or starting after the opening
        g = g.iloc[order]
        out[int(aid)] = pd.DataFrame(
            {c: g[c].astype(float).to_numpy() for c in ("value", "flow", "fees")},
            index=pd.DatetimeIndex(days),
        )
    return out


def _fees(
    session: Session, ids: list[int], start: date, end: date, fx: FxTable, base: dict[int, str]
) -> pd.DataFrame:
    """Fee movements (negative) in base currency at their trade date's rate, for rebuilt histories."""
    rows = session.execute(
        select(CashMovement.account_id, CashMovement.trade_date, CashMovement.currency, CashMovement.amount).where(
            CashMovement.account_id.in_(ids), CashMovement.kind == "fee",
            CashMovement.trade_date > start, CashMovement.trade_date <= end,
        )
    ).all()  # fmt: skip
    f = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "trade_date", "currency", "amount"])
    f["amount"] = f["amount"].astype(float)
    if len(f):
        f["base"] = f["amount"] * fx.rates(f["currency"], f["account_id"].map(base), list(f["trade_date"]))
    else:
        f["base"] = 0.0
    return f


def series(
    session: Session, ids: list[int], period: Period, fx: FxTable, base: dict[int, str], grid: PriceGrid
) -> dict[int, Series | str]:
    """Each account's Series, or the reason there is none (e.g. a held security without a price)."""
    year = period.windows()[-1][1]
    stored = _stored(session, ids, period.opening, period.last)
    rebuild = [a for a in ids if a not in stored]
    fees = _fees(session, rebuild, year, period.last, fx, base) if rebuild else None
    out: dict[int, Series | str] = {a: Series("daily_values", f) for a, f in stored.items()}
    for aid in rebuild:
        try:
            h = account_history(session, aid, year, period.last, fx, grid.dates, grid.closes_of)
        except (AnalyticsError, NotFound) as exc:
            out[aid] = str(exc)
            continue
        frame = h.frame[["value", "flow"]].copy()
        frame["fees"] = 0.0
        assert fees is not None
        mine = fees[fees["account_id"] == aid]
        if len(mine):
            dates = frame.index.to_numpy(dtype="datetime64[D]")
            row = np.searchsorted(dates, mine["trade_date"].to_numpy(dtype="datetime64[D]"), side="left")
            inside = row < len(dates)
            acc = np.zeros(len(dates))
            np.add.at(acc, row[inside], mine["base"].to_numpy()[inside])
            frame["fees"] = acc
        out[aid] = Series("reconstructed", frame)
    return out


def _twr(values: np.ndarray, flows: np.ndarray) -> float | None:
    """engine.analytics.time_weighted_return on arrays (end-of-day flows; a day from nothing to
    nothing returns 0); None where a day starts from zero or less and ends with something."""
    num, den = values[1:] - flows[1:], values[:-1]
    idle = (den == 0) & (num == 0)
    if ((den <= 0) & ~idle).any():
        return None
    r = np.where(idle, 0.0, num / np.where(idle, 1.0, den)) - np.where(idle, 0.0, 1.0)
    return float(np.prod(1.0 + r) - 1.0)


def window_returns(s: Series, period: Period, bench: pd.Series | None) -> list[dict[str, Any]]:
    """Net and gross TWR and the benchmark's return per window (quarter, ytd, 1y, inception)."""
    f = s.frame
    dates = f.index.to_numpy(dtype="datetime64[D]")
    value, flow, fees = (f[c].to_numpy(dtype=float) for c in ("value", "flow", "fees"))
    out: list[dict[str, Any]] = []
    windows = period.windows()
    inception = f.index[int(np.argmax(f["value"].to_numpy() > 0))].date() if (f["value"] > 0).any() else None
    if inception is not None and (s.source == "daily_values" or inception > windows[-1][1]):
        windows = [*windows, ("inception", inception)]
    for name, opening in windows:
        k = int(np.searchsorted(dates, np.datetime64(opening, "D"), side="right")) - 1
        row: dict[str, Any] = {"window": name, "from": opening.isoformat(), "to": period.last.isoformat()}
        if k < 0 or (
            name != "inception" and s.source == "reconstructed" and dates[0] > np.datetime64(opening, "D")
        ):
            row.update(net=None, gross=None, benchmark=None, note="history does not reach back this far")
            out.append(row)
            continue
        row["from"] = f.index[k].date().isoformat()
        row["net"] = _twr(value[k:], flow[k:])
        row["gross"] = _twr(value[k:], flow[k:] + fees[k:])
        if bench is not None:
            b = bench[bench.index > f.index[k]]
            row["benchmark"] = float(np.prod(1.0 + b.to_numpy()) - 1.0)
        else:
            row["benchmark"] = None
        out.append(row)
    return out


def benchmark(account: Account, index: pd.DatetimeIndex, grid: PriceGrid) -> tuple[str, pd.Series] | None:
    """(label, daily returns) of the account's model on `index`'s dates, or None without a model."""
    if account.model_id is None or account.model_id not in grid.models:
        return None
    r = grid.model_returns(account.model_id, account.base_currency)
    label = f"model {account.model.code if account.model else account.model_id}"
    if len(index) == len(grid.dates) and (index.to_numpy(dtype="datetime64[D]") == grid.dates).all():
        return label, r
    # stored daily values on other dates: link the model's returns between the account's dates
    level = (1.0 + r).cumprod()
    level = pd.concat([pd.Series([1.0], index=pd.DatetimeIndex(grid.dates[:1])), level])
    at = level.reindex(level.index.union(index)).ffill().reindex(index)
    return label, (at / at.shift(1) - 1.0).iloc[1:].fillna(0.0)
