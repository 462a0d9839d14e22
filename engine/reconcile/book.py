"""The book as a custodian sees it on a date: settled positions and cash, and what is pending.

Positions: open lots now, less trades with a trade date after the statement date, with splits
whose ex-date is after it undone (trade-date basis as of that date); less trades traded on or
before it that settle after it (settled basis). Settlement dates are those the accounting
engine booked: each market's own cycle counted in its own exchange calendar.
Cash: every movement, less those settling after the statement date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CashMovement, CorporateAction
from engine.reconcile.rawsql import frame
from engine.store.accounts import Account
from engine.store.positions import CashBalance
from engine.store.reference import Security

ACTION_WINDOW_DAYS = 10


@dataclass
class BookView:
    """Frames the matcher needs; every quantity and amount is float64."""

    accounts: pd.DataFrame  # account_id, account_code, custodian
    positions: pd.DataFrame  # account_id, security_id, td_qty, settled_qty, pending_qty
    pending: (
        pd.DataFrame
    )  # account_id, security_id, source_ref, side, quantity, trade_date, settle_date, signed
    splits: pd.DataFrame  # security_id, ref, ex_date, factor, applied
    cash: pd.DataFrame  # account_id, currency, settled, pending
    pending_cash: pd.DataFrame  # account_id, currency, source_ref, amount, settle_date
    securities: pd.DataFrame  # security_id (index): symbol, currency, mic, multiplier, asset_class


def load_book(session: Session, as_of: date, custodians: list[str]) -> BookView:
    """Read the book for accounts held at `custodians`, as of the statement date."""
    accounts = pd.DataFrame(
        session.execute(
            select(Account.id, Account.code, Account.custodian).where(Account.custodian.in_(custodians))
        ).all(),
        columns=["account_id", "account_code", "custodian"],
    )
    acct_filter = Account.custodian.in_(custodians)
    lots = frame(
        session,
        "SELECT account_id, security_id, CAST(SUM(quantity) AS FLOAT) FROM tax_lots GROUP BY account_id, security_id",
        ["account_id", "security_id", "qty"],
    )
    lots = lots[lots["account_id"].isin(accounts["account_id"])]
    lots["qty"] = lots["qty"].astype(float)
    trades = pd.DataFrame(
        session.execute(
            select(
                Booking.account_id,
                Booking.security_id,
                Booking.source_ref,
                Booking.side,
                Booking.quantity,
                Booking.trade_date,
                Booking.settle_date,
            )
            .join(Account, Account.id == Booking.account_id)
            .where(acct_filter, Booking.kind == "trade", Booking.settle_date > as_of)
        ).all(),
        columns=["account_id", "security_id", "source_ref", "side", "quantity", "trade_date", "settle_date"],
    )
    trades["quantity"] = trades["quantity"].astype(float)
    trades["signed"] = np.where(trades["side"].str.lower() == "buy", 1.0, -1.0) * trades["quantity"]
    splits = _splits(session, as_of)
    qty = lots.set_index(["account_id", "security_id"])["qty"]
    # Undo splits that took effect after the statement date (applied to the lots already).
    later = splits[(splits["ex_date"] > as_of) & splits["applied"]]
    if not later.empty:
        undo = later.groupby("security_id")["factor"].prod()
        f = qty.index.get_level_values("security_id").map(undo).fillna(1.0).to_numpy(dtype=float)
        qty = qty / f
    future = trades[trades["trade_date"] > as_of]
    pending = trades[trades["trade_date"] <= as_of].reset_index(drop=True)
    keys = ["account_id", "security_id"]
    fut = future.groupby(keys)["signed"].sum()
    pend = pending.groupby(keys)["signed"].sum()
    pos = pd.concat([qty.rename("now"), fut.rename("future"), pend.rename("pending")], axis=1).fillna(0.0)
    pos["td_qty"] = pos["now"] - pos["future"]
    pos["settled_qty"] = pos["td_qty"] - pos["pending"]
    pos = pos.rename(columns={"pending": "pending_qty"})[
        ["td_qty", "settled_qty", "pending_qty"]
    ].reset_index()
    cash, pending_cash = _cash(session, as_of, acct_filter)
    securities = pd.DataFrame(
        session.execute(
            select(
                Security.id,
                Security.symbol,
                Security.currency,
                Security.mic,
                Security.price_multiplier,
                Security.asset_class,
            )
        ).all(),
        columns=["security_id", "symbol", "currency", "mic", "multiplier", "asset_class"],
    ).set_index("security_id")
    securities["multiplier"] = securities["multiplier"].astype(float)
    return BookView(accounts, pos, pending, splits, cash, pending_cash, securities)


def _splits(session: Session, as_of: date) -> pd.DataFrame:
    lo, hi = as_of - timedelta(days=ACTION_WINDOW_DAYS), as_of + timedelta(days=ACTION_WINDOW_DAYS)
    rows = session.execute(
        select(
            CorporateAction.security_id,
            CorporateAction.ref,
            CorporateAction.ex_date,
            CorporateAction.ratio_new,
            CorporateAction.ratio_old,
            CorporateAction.applied_at,
        ).where(CorporateAction.kind == "split", CorporateAction.ex_date >= lo)
    ).all()
    df = pd.DataFrame(rows, columns=["security_id", "ref", "ex_date", "new", "old", "applied_at"])
    df["factor"] = df["new"].astype(float) / df["old"].astype(float)
    df["applied"] = df["applied_at"].notna()
    df["near"] = df["ex_date"] <= hi
    return df[["security_id", "ref", "ex_date", "factor", "applied", "near"]]


def _cash(session: Session, as_of: date, acct_filter: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    bal = pd.DataFrame(
        session.execute(
            select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
            .join(Account, Account.id == CashBalance.account_id)
            .where(acct_filter)  # type: ignore[arg-type]
        ).all(),
        columns=["account_id", "currency", "settled", "unsettled"],
    )
    bal["total"] = bal["settled"].astype(float) + bal["unsettled"].fillna(0).astype(float)
    later = pd.DataFrame(
        session.execute(
            select(
                CashMovement.account_id,
                CashMovement.currency,
                CashMovement.amount,
                CashMovement.trade_date,
                CashMovement.settle_date,
                Booking.source_ref,
            )
            .join(Account, Account.id == CashMovement.account_id)
            .outerjoin(Booking, Booking.id == CashMovement.booking_id)
            .where(acct_filter, CashMovement.settle_date > as_of)  # type: ignore[arg-type]
        ).all(),
        columns=["account_id", "currency", "amount", "trade_date", "settle_date", "source_ref"],
    )
    later["amount"] = later["amount"].astype(float)
    keys = ["account_id", "currency"]
    out = bal.set_index(keys)["total"].rename("total").to_frame()
    out = out.join(later.groupby(keys)["amount"].sum().rename("later"), how="outer").fillna(0.0)
    pend = later[later["trade_date"] <= as_of]
    out = out.join(pend.groupby(keys)["amount"].sum().rename("pending"), how="left").fillna(0.0)
    out["settled"] = out["total"] - out["later"]
    return out[["settled", "pending"]].reset_index(), pend.reset_index(drop=True)
