"""Cash raise by a date: only sales that settle by the date (exchange calendars and the cycle in
force: US T+1, Europe T+2) can fund it; holidays push settlement out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np

from engine.rebalance.book import attach_settlement
from engine.rebalance.context import Context
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.solve import rebalance_account
from engine.store.database import Database

T1 = ("XNYS", "XNAS")


def _settle(u: Any, mic: str) -> date:
    return u.settle[np.flatnonzero(u.mic == mic)[0]].astype(object)


def _settings(trade: date, by: date) -> RebalanceSettings:
    return RebalanceSettings(
        mode=Mode.CASH_RAISE, cash_raise_base=20_000.0, cash_raise_by=by, trade_date=trade
    )


def _us_and_t2_account(u: Any, accounts: list[Any]) -> Any:
    """A USD account holding over 100k USD of T+1 US names and some London/Xetra names."""
    pb = u.price_base("USD")
    for a in accounts:
        if a.base != "USD":
            continue
        value = a.lot_qty * pb[a.lot_sec]
        us = value[np.isin(u.mic[a.lot_sec], T1)].sum()
        eu = value[np.isin(u.mic[a.lot_sec], ("XLON", "XETR"))].sum()
        if us > 100_000 and eu > 0:
            return a
    raise AssertionError("no USD account with US and European holdings in the test book")


def test_only_sales_settling_by_the_date_fund_the_raise(book: Database) -> None:
    s = _settings(date(2026, 11, 24), date(2026, 11, 25))
    u, accounts = load_run(book, None, s)
    # Tuesday 24 Nov 2026: US T+1 settles Wednesday 25th; London and Xetra T+2 on Thursday 26th.
    assert _settle(u, "XNYS") == date(2026, 11, 25)
    assert _settle(u, "XNAS") == date(2026, 11, 25)
    assert _settle(u, "XLON") == date(2026, 11, 26)
    assert _settle(u, "XETR") == date(2026, 11, 26)
    a = _us_and_t2_account(u, accounts)
    rec = rebalance_account(Context(u, s), a)
    assert rec["status"] == "ok", rec["reason"]
    sold = [t for t in rec["trades"] if t["side"] == "sell"]
    assert sold
    settle_of = dict(zip(u.symbols, u.settle.astype(object)))
    mic_of = dict(zip(u.symbols, u.mic))
    assert all(settle_of[t["symbol"]] <= date(2026, 11, 25) for t in sold)
    assert not any(mic_of[t["symbol"]] in ("XLON", "XETR") for t in sold)
    assert any(mic_of[t["symbol"]] in T1 for t in sold)
    assert all("by 2026-11-25" in t["reason"] for t in sold if t["reason"].startswith("sell: raise"))
    fx = u.fx_to[a.base]
    before = sum(v * fx[c] for c, v in rec["before"]["cash"].items())
    after = sum(v * fx[c] for c, v in rec["after"]["cash"].items())
    assert after >= before + 20_000.0 - 0.01


def test_a_holiday_pushes_us_settlement_past_the_date(book: Database) -> None:
    # Wednesday 25 Nov 2026: Thanksgiving on the 26th, so US T+1 settles Friday 27th, not the 26th.
    s = _settings(date(2026, 11, 25), date(2026, 11, 26))
    u, accounts = load_run(book, None, s)
    assert _settle(u, "XNYS") == date(2026, 11, 27)
    assert _settle(u, "XLON") == date(2026, 11, 27)
    a = _us_and_t2_account(u, accounts)
    rec = rebalance_account(Context(u, s), a)
    settle_of = dict(zip(u.symbols, u.settle.astype(object)))
    mic_of = dict(zip(u.symbols, u.mic))
    sold = [t["symbol"] for t in rec["trades"] if t["side"] == "sell"]
    # US and European sales settle on the 27th: they cannot fund a raise due on the 26th.
    assert not any(mic_of[x] in (*T1, "XLON", "XETR") for x in sold), sold
    assert all(settle_of[x] <= date(2026, 11, 26) for x in sold)
    if rec["status"] != "ok":
        assert rec["status"] == "infeasible"
        assert rec["reason"].startswith("binding constraint"), rec["reason"]
        assert rec["trades"] == []


def test_t2_market_across_christmas(book: Database, loaded: Any) -> None:
    u = replace(loaded[0])
    with book.session() as session:
        attach_settlement(session, u, date(2026, 12, 23))
    # London, traded Wednesday 23 Dec 2026, T+2: the 24th is a session, the 25th and Monday the
    # 28th (Boxing Day observed) are holidays, so the sale settles Tuesday 29 Dec; New York
    # (T+1): the 24th.
    assert _settle(u, "XLON") == date(2026, 12, 29)
    assert _settle(u, "XNYS") == date(2026, 12, 24)
