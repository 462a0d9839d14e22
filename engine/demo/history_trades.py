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
    excluded = {
        (int(a), int(x))
        for a, x in session.execute(select(AccountExclusion.account_id, AccountExclusion.security_id))
    }
    t = pd.Timestamp(day)
    eur = {str(c): float(v) for c, v in market.eur_per.loc[t].items()}
    px_today = {str(k): float(v) for k, v in closes_today.items() if np.isfinite(v)}
    acct = pd.DataFrame(
        [(int(aid), str(code), str(base), float(cash_target or 0), model_code.get(model_id or -1, ""))
         for aid, code, base, cash_target, model_id in accts],
        columns=["account_id", "code", "base", "cash_target", "model"],
    )  # fmt: skip
    acct["value"] = values.reindex(acct["account_id"], fill_value=0.0).astype(float).to_numpy()
    acct = acct[(acct["value"] > 0) & acct["model"].map(lambda m: bool(weights.get(m)))]
    sec_frame = pd.DataFrame(
        [(i, *v) for i, v in secs.items()],
        columns=["security_id", "symbol", "ccy", "lot", "mult", "asset_class"],
    )
    model_w = pd.DataFrame(
        [(m, sym, float(x)) for m, w in weights.items() for sym, x in w.items()],
        columns=["model", "symbol", "w"],
    )
    pos = snap.positions.groupby(["account_id", "security_id"], as_index=False)["quantity"].sum()
    pos = (
        pos.merge(acct, on="account_id")
        .merge(sec_frame, on="security_id")
        .merge(model_w, on=["model", "symbol"])
    )
    pos["px"] = pos["symbol"].map(px_today)
    ok = pos["px"].notna() & ~pos["symbol"].isin(list(skip))
    if excluded:
        ok &= np.array(
            [(int(a), int(x)) not in excluded for a, x in zip(pos["account_id"], pos["security_id"])],
            dtype=bool,
        )
    pos = pos[ok]
    # The same float operations, in the same order, as one position at a time (so the same fills).
    px, mult, qty = pos["px"].to_numpy(), pos["mult"].to_numpy(), pos["quantity"].to_numpy(dtype=float)
    w, value, lot = pos["w"].to_numpy(), pos["value"].to_numpy(), pos["lot"].to_numpy()
    invest = value * (1.0 - pos["cash_target"].to_numpy())
    unit = px * mult * pos["base"].map(eur).to_numpy() / pos["ccy"].map(eur).to_numpy()
    gap = w * invest - qty * unit
    trade = ~((unit <= 0) | (np.abs(gap) <= np.maximum(REL_DRIFT * w * invest, ABS_DRIFT * value)))
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.floor(np.abs(gap) / unit / lot) * lot
    n = np.where(gap < 0, np.minimum(n, qty), n)
    trade &= n > 0
    mine: dict[str, list[tuple[float, TradeFill]]] = {}
    cand = pos.assign(gap=gap, n=n)[trade]
    for code, sym, ccy, asset_class, g, k, price in zip(
        cand["code"], cand["symbol"], cand["ccy"], cand["asset_class"], cand["gap"], cand["n"], cand["px"]
    ):  # fmt: skip
        k = float(k)
        dec = 0 if ccy == "JPY" else 3 if asset_class == "fixed_income" else 2
        mine.setdefault(code, []).append(
            (
                -abs(float(g)),
                TradeFill(
                    account=str(code),
                    symbol=str(sym),
                    side=Side.BUY if g > 0 else Side.SELL,
                    quantity=Decimal(int(k)) if k == int(k) else Decimal(repr(k)),
                    price=Decimal(repr(round(float(price), dec))),
                    trade_date=day,
                    source_ref=f"SIMBRK-{day:%Y%m%d}-{code}-{sym}"[:64],
                ),
            )
        )
    fills: list[TradeFill] = []
    for code in acct["code"]:
        fills += [f for _, f in sorted(mine.get(code, []), key=lambda x: (x[0], x[1].symbol))[:MAX_FILLS]]
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
