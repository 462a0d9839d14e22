"""The SIMULATED history's quarterly rebalance: trades filled at the simulated close, booked
through the ledger booker the OMS's fills use (engine.accounting.booking.LedgerBooker).

Per account, each model security it holds (not excluded, with a close on the date) whose value
is more than 50% of its weight (and 1% of the account) away from the model weight (scaled by 1 - the cash target) is bought
or sold back to the weight in whole board lots; securities outside the model are left alone.
The FIX round trip to the broker simulator is not made: three years of quarterly orders for
every account would take longer than the demo's time target, and a simulated fill at the close
is what the broker simulator gives anyway. Foreign cash a buy leaves negative is squared by an
FX conversion the custodian reports that day (`fx_lines`, loaded by the day cycle).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.booking import LedgerBooker
from engine.activity.trades_bulk import BulkTradeBooker
from engine.demo.history_events import money
from engine.demo.history_values import Market, Snapshot
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Account, AccountExclusion, Model
from engine.store.positions import CashBalance
from engine.store.reference import Security

REL_DRIFT, ABS_DRIFT = 0.5, 0.01  # trade a position more than 50% off its weight and 1% of the value
MAX_FILLS = 2  # per account and quarter: the largest gaps first (each fill is booked row by row)


def rebalance_trades(
    session: Session, day: date, snap: Snapshot, market: Market, weights: dict[str, dict[str, float]],
    closes_today: pd.Series, values: pd.Series, skip: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[TradeFill]:  # fmt: skip
    """The fills of `day`'s rebalance (see the module docstring). `closes_today`: symbol -> close
    on `day` (NaN off-session); `values`: account id -> value in base currency; `skip`: symbols
    with a corporate action that day (not traded until it is booked)."""
    accts = session.execute(
        select(Account.id, Account.code, Account.base_currency, Account.cash_target,
               Account.model_id)
    ).all()  # fmt: skip
    model_code = dict(session.execute(select(Model.id, Model.code)).all())
    secs = {
        int(i): (str(sym), str(ccy), float(lot or 1), float(mult), str(ac))
        for i, sym, ccy, lot, mult, ac in session.execute(
            select(Security.id, Security.symbol, Security.currency, Security.lot_size, Security.price_multiplier,
                   Security.asset_class)
        ).all()
    }  # fmt: skip
    excluded = set(session.execute(select(AccountExclusion.account_id, AccountExclusion.security_id)).all())
    t = pd.Timestamp(day)
    eur = {str(c): float(v) for c, v in market.eur_per.loc[t].items()}
    px_today = {str(k): float(v) for k, v in closes_today.items() if np.isfinite(v)}
    held_by: dict[int, list[tuple[int, float]]] = {}
    pos = snap.positions.groupby(["account_id", "security_id"], as_index=False)["quantity"].sum()
    for aid, sid, q in zip(pos["account_id"], pos["security_id"], pos["quantity"]):
        held_by.setdefault(int(aid), []).append((int(sid), float(q)))
    fills: list[TradeFill] = []
    for aid, code, base, cash_target, model_id in accts:
        w = weights.get(model_code.get(model_id or -1, ""), {})
        value = float(values.get(aid, 0.0))
        if value <= 0 or not w:
            continue
        invest = value * (1.0 - float(cash_target or 0))
        mine: list[tuple[float, TradeFill]] = []
        for sid, qty in held_by.get(aid, []):
            sym, ccy, lot, mult, asset_class = secs[sid]
            px = px_today.get(sym)
            if sym not in w or sym in skip or (aid, sid) in excluded or px is None:
                continue
            unit = px * mult * eur[str(base)] / eur[ccy]
            gap = w[sym] * invest - qty * unit
            if unit <= 0 or abs(gap) <= max(REL_DRIFT * w[sym] * invest, ABS_DRIFT * value):
                continue
            n = np.floor(abs(gap) / unit / lot) * lot
            if gap < 0:
                n = min(n, qty)
            if n <= 0:
                continue
            dec = 0 if ccy == "JPY" else 3 if asset_class == "fixed_income" else 2
            mine.append(
                (
                    -abs(gap),
                    TradeFill(
                        account=str(code),
                        symbol=sym,
                        side=Side.BUY if gap > 0 else Side.SELL,
                        quantity=Decimal(int(n)) if n == int(n) else Decimal(repr(n)),
                        price=Decimal(repr(round(float(px), dec))),
                        trade_date=day,
                        source_ref=f"SIMBRK-{day:%Y%m%d}-{code}-{sym}"[:64],
                    ),
                )
            )
        fills += [f for _, f in sorted(mine, key=lambda x: (x[0], x[1].symbol))[:MAX_FILLS]]
    return fills


def book_fills(session: Session, fills: list[TradeFill], *, bulk: bool = True) -> int:
    """Book every fill (sells first, so lots are relieved before cash is spent); returns booked.
    `bulk`: set-wise (engine.activity.trades_bulk, the same rows); False: one by one through
    LedgerBooker (the reference the tests compare the bulk path with)."""
    ordered = sorted(fills, key=lambda f: (f.side != Side.SELL, f.account, f.symbol))
    if bulk:
        return sum(b is not None for b in BulkTradeBooker(session).book_all(ordered))
    booker = LedgerBooker()
    for f in ordered:
        booker.book(session, f)
    return len(fills)


def fx_lines(session: Session, day: date, market: Market, accounts: pd.DataFrame) -> pd.DataFrame:
    """An FX conversion from the base currency for every foreign balance below zero (the
    custodian's report of the day). `accounts`: id-indexed code, custodian, base_currency."""
    neg = session.execute(
        select(
            CashBalance.account_id, CashBalance.currency, CashBalance.settled + CashBalance.unsettled
        ).where(CashBalance.settled + CashBalance.unsettled < 0)
    ).all()
    row = market.prices.index.get_indexer([pd.Timestamp(day)])
    out = []
    for aid, ccy, amount in neg:
        a = accounts.loc[aid]
        if ccy == a["base_currency"]:
            continue
        buy = money(-float(amount), ccy)
        rate = float(market.rate(row, [ccy], [str(a["base_currency"])])[0, 0])
        out.append({"reference": f"SIM-{day:%Y%m%d}-{a['code']}-FX-{ccy}", "account": a["code"],
                    "custodian": a["custodian"], "kind": "fx", "trade_date": day, "currency": ccy, "amount": buy,
                    "counter_currency": a["base_currency"],
                    "counter_amount": money(float(buy) * rate, str(a["base_currency"])),
                    "description": "SIMULATED FX to pay for the rebalance's buys"})  # fmt: skip
    return pd.DataFrame(out)
