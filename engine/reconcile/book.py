"""The book as a custodian sees it on a date: settled positions and cash, and what is pending.

Positions: open lots now, less trades with a trade date after the statement date, with splits
whose ex-date is after it undone (trade-date basis as of that date); less trades traded on or
before it that settle after it (settled basis). Settlement dates are those the accounting
engine booked: each market's own cycle counted in its own exchange calendar.
Cash: every movement, less those settling after the statement date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.rules import withholding_rate
from engine.accounting.tables import Booking, CashMovement, CorporateAction
from engine.model.currency import minor_units
from engine.reconcile.rawsql import csv_frame, pair_key, scaled, select_frame
from engine.store.accounts import Account
from engine.store.positions import CashBalance
from engine.store.reference import Security

ACTION_WINDOW_DAYS = 10
LOT_KEY = 1 << 24  # security ids stay below 2**24 (as in matching)
QTY_PLACES = 6  # Quantity() columns keep 6 decimals
UNDO_SNAP = 1e-4  # a split undone to within this of a whole number was a whole number
# Per account and currency: a cash dividend near the statement date, booked (net, gross) or expected.
DIVIDEND_COLUMNS = [
    "account_id", "currency", "ref", "security_id", "ex_date", "pay_date", "per_share", "gross", "net", "applied",
]  # fmt: skip
# A symbol/ISIN change near the statement date: the ISIN before (when known) and after it.
RENAME_COLUMNS = ["security_id", "ref", "ex_date", "new_isin", "applied"]


@dataclass
class BookView:
    """Frames the matcher needs; every quantity and amount is float64."""

    accounts: pd.DataFrame  # account_id, account_code, custodian
    positions: pd.DataFrame  # account_id, security_id, td_qty, settled_qty, pending_qty
    pending: (
        pd.DataFrame
    )  # account_id, security_id, source_ref, side, quantity, trade_date, settle_date, signed
    splits: pd.DataFrame  # security_id, ref, ex_date, factor, applied, near
    cash: pd.DataFrame  # account_id, currency, settled, pending
    pending_cash: pd.DataFrame  # account_id, currency, source_ref, amount, settle_date
    securities: pd.DataFrame  # security_id (index): symbol, currency, mic, multiplier, asset_class
    dividends: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DIVIDEND_COLUMNS))
    renames: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RENAME_COLUMNS))


def load_book(session: Session, as_of: date, custodians: list[str]) -> BookView:
    """Read the book for accounts held at `custodians`, as of the statement date."""
    accounts = select_frame(
        session,
        select(Account.id, Account.code, Account.custodian).where(Account.custodian.in_(custodians)),
        ["account_id", "account_code", "custodian"],
    )
    acct_filter = Account.custodian.in_(custodians)
    # Open lots summed per (account, security) in numpy: SQLite's GROUP BY sorts 1.35M rows (~1.8
    # CPU s); read as one int64 key and whole micro-units (integers are cheap to write and parse).
    raw = csv_frame(
        session,
        [pair_key("account_id", "security_id", LOT_KEY), scaled(session, "quantity", QTY_PLACES)],
        "FROM tax_lots",
        [("key", "int"), ("units", "int")],
    )
    keys, units = _sum_sorted(raw["key"].to_numpy(dtype=np.int64), raw["units"].to_numpy(dtype=np.int64))
    del raw
    held_by = _id_mask(accounts["account_id"].to_numpy(dtype=np.int64))
    mine = held_by(keys // LOT_KEY)
    keys, now = keys[mine], units[mine] / 10.0**QTY_PLACES
    trades = select_frame(
        session,
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
        .where(acct_filter, Booking.kind == "trade", Booking.settle_date > as_of),
        ["account_id", "security_id", "source_ref", "side", "quantity", "trade_date", "settle_date"],
    )
    trades["quantity"] = trades["quantity"].astype(float)
    trades["signed"] = np.where(trades["side"].str.lower() == "buy", 1.0, -1.0) * trades["quantity"]
    splits = _splits(session, as_of)
    # Undo splits that took effect after the statement date (applied to the lots already).
    later = splits[(splits["ex_date"] > as_of) & splits["applied"]]
    if not later.empty:
        undo = later.groupby("security_id")["factor"].prod()
        f = pd.Series(keys % LOT_KEY).map(undo).fillna(1.0).to_numpy(dtype=float)
        now = now / f
        # Lots keep 6 decimals, so undoing a 1-for-3 gives 500.000001: snap what was whole back.
        whole = np.round(now)
        now = np.where((f != 1.0) & (np.abs(now - whole) <= UNDO_SNAP), whole, now)
    future = trades[trades["trade_date"] > as_of]
    pending = trades[trades["trade_date"] <= as_of].reset_index(drop=True)
    fut_keys, fut = _sum_by_key(future)
    pend_keys, pend = _sum_by_key(pending)
    # A position may exist only through trades (a sale that closed every lot, still to settle).
    extra = np.unique(np.concatenate([fut_keys, pend_keys]))
    extra = extra[~_contains(keys, extra)]
    if len(extra):
        keys = np.concatenate([keys, extra])
        order = np.argsort(keys, kind="stable")
        keys, now = keys[order], np.concatenate([now, np.zeros(len(extra))])[order]
    td = now - _scatter(keys, fut_keys, fut)
    pend_qty = _scatter(keys, pend_keys, pend)
    pos = pd.DataFrame(
        {
            "account_id": keys // LOT_KEY,
            "security_id": keys % LOT_KEY,
            "td_qty": td,
            "settled_qty": td - pend_qty,
            "pending_qty": pend_qty,
        }
    )
    cash, pending_cash = _cash(session, as_of, acct_filter)
    securities = select_frame(
        session,
        select(
            Security.id,
            Security.symbol,
            Security.currency,
            Security.mic,
            Security.price_multiplier,
            Security.asset_class,
        ),
        ["security_id", "symbol", "currency", "mic", "multiplier", "asset_class"],
    ).set_index("security_id")
    securities["multiplier"] = securities["multiplier"].astype(float)
    dividends = _dividends(session, as_of, accounts, pos, securities)
    renames = _renames(session, as_of)
    return BookView(
        accounts, pos, pending, splits, cash, pending_cash, securities, dividends=dividends, renames=renames
    )


def _id_mask(ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A membership test for small non-negative integer ids, by one gather (no hashing)."""
    top = int(ids.max()) + 1 if len(ids) else 0
    table = np.zeros(top + 1, dtype=bool)
    table[ids] = True

    def test(values: np.ndarray) -> np.ndarray:
        return table[np.where(values < 0, top, np.minimum(values, top))]

    return test


def _sum_sorted(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and the sum of `values` per key (a sort, not a hash: lots come nearly
    in key order, and numpy's hash-based unique with an inverse cost a second on 1.35M keys)."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
    sums = np.add.reduceat(values[order], starts) if len(keys) else values[:0]
    return keys[starts], sums


def _contains(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each of `values` is in `sorted_keys` (binary search)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def _sum_by_key(trades: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Signed trade quantities summed per (account, security) key, keys sorted."""
    if trades.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    key = trades["account_id"].to_numpy(dtype=np.int64) * LOT_KEY + trades["security_id"].to_numpy(
        dtype=np.int64
    )
    keys, inverse = np.unique(key, return_inverse=True)
    return keys, np.bincount(inverse, weights=trades["signed"].to_numpy(dtype=float), minlength=len(keys))


def _scatter(keys: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A float per key of sorted `keys`: `values` where the key is in `at` (all of them are), else 0."""
    out = np.zeros(len(keys))
    if len(at):
        out[np.searchsorted(keys, at)] = values
    return out


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
    bal = select_frame(
        session,
        select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
        .join(Account, Account.id == CashBalance.account_id)
        .where(acct_filter),  # type: ignore[arg-type]
        ["account_id", "currency", "settled", "unsettled"],
    )
    bal["total"] = bal["settled"].astype(float) + bal["unsettled"].fillna(0).astype(float)
    later = select_frame(
        session,
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
        .where(acct_filter, CashMovement.settle_date > as_of),  # type: ignore[arg-type]
        ["account_id", "currency", "amount", "trade_date", "settle_date", "source_ref"],
    )
    later["amount"] = later["amount"].astype(float)
    keys = ["account_id", "currency"]
    out = bal.set_index(keys)["total"].rename("total").to_frame()
    out = out.join(later.groupby(keys)["amount"].sum().rename("later"), how="outer").fillna(0.0)
    pend = later[later["trade_date"] <= as_of]
    out = out.join(pend.groupby(keys)["amount"].sum().rename("pending"), how="left").fillna(0.0)
    out["settled"] = out["total"] - out["later"]
    return out[["settled", "pending"]].reset_index(), pend.reset_index(drop=True)


def _near_actions(session: Session, as_of: date, kind: str) -> list[CorporateAction]:
    lo, hi = as_of - timedelta(days=ACTION_WINDOW_DAYS), as_of + timedelta(days=ACTION_WINDOW_DAYS)
    return list(
        session.scalars(
            select(CorporateAction).where(
                CorporateAction.kind == kind, CorporateAction.ex_date >= lo, CorporateAction.ex_date <= hi
            )
        )
    )


def _dividends(
    session: Session, as_of: date, accounts: pd.DataFrame, pos: pd.DataFrame, securities: pd.DataFrame
) -> pd.DataFrame:
    """Cash dividends with ex- or pay date within the window, per holding account and currency.

    Applied ones: the amounts the accounting engine booked (gross, and net of withholding).
    Announced ones not yet applied: what they will pay on the book's trade-date position now,
    gross and net of the withholding rate in force on the ex-date.
    """
    lo, hi = as_of - timedelta(days=ACTION_WINDOW_DAYS), as_of + timedelta(days=ACTION_WINDOW_DAYS)
    actions = [
        a
        for a in session.scalars(select(CorporateAction).where(CorporateAction.kind == "dividend"))
        if lo <= (a.pay_date or a.ex_date) <= hi or lo <= a.ex_date <= hi
    ]
    rows: list[tuple[object, ...]] = []
    wanted = set(accounts["account_id"])
    for a in actions:
        pay = a.pay_date or a.ex_date
        ccy = str(securities.at[a.security_id, "currency"])
        if a.applied_at is not None:
            booked = session.execute(
                select(Booking.id, Booking.account_id).where(
                    Booking.kind == "dividend", Booking.source_ref.like(f"CA:{a.ref}:%")
                )
            ).all()
            ids = {bid: acct for bid, acct in booked if acct in wanted}
            if not ids:
                continue
            moves = session.execute(
                select(CashMovement.booking_id, CashMovement.kind, CashMovement.amount).where(
                    CashMovement.booking_id.in_(list(ids))
                )
            ).all()
            gross: dict[int, float] = {}
            net: dict[int, float] = {}
            for bid, kind, amount in moves:
                if bid is None:
                    continue
                net[bid] = net.get(bid, 0.0) + float(amount)
                if kind == "dividend":
                    gross[bid] = gross.get(bid, 0.0) + float(amount)
            for bid, acct in ids.items():
                rows.append(
                    (acct, ccy, a.ref, a.security_id, a.ex_date, pay, float(a.amount or 0), gross.get(bid, 0.0),
                     net.get(bid, 0.0), True)
                )  # fmt: skip
            continue
        held = pos[(pos["security_id"] == a.security_id) & (pos["td_qty"] > 0)]
        if held.empty:
            continue
        rows.extend(_expected_dividends(session, a, held, ccy, securities))
    return pd.DataFrame(rows, columns=DIVIDEND_COLUMNS)


def _expected_dividends(
    session: Session, a: CorporateAction, held: pd.DataFrame, ccy: str, securities: pd.DataFrame
) -> list[tuple[object, ...]]:
    """What an announced dividend will pay each holder, gross and net of withholding."""
    country = session.scalar(select(Security.country).where(Security.id == a.security_id)) or ""
    residence = dict(
        session.execute(
            select(Account.id, Account.tax_jurisdiction).where(Account.id.in_(held["account_id"].tolist()))
        ).all()
    )
    mult = float(securities.at[a.security_id, "multiplier"])
    places = minor_units(ccy)
    rates: dict[str, float] = {}
    out: list[tuple[object, ...]] = []
    for acct, qty in zip(held["account_id"], held["td_qty"]):
        res = residence.get(int(acct), "")
        if res not in rates:
            rates[res] = float(withholding_rate(session, country, res, a.ex_date))
        gross = round(float(qty) * float(a.amount or 0) * mult, places)
        net = gross - round(gross * rates[res], places)
        out.append(
            (int(acct), ccy, a.ref, a.security_id, a.ex_date, a.pay_date or a.ex_date, float(a.amount or 0),
             gross, net, False)
        )  # fmt: skip
    return out


def _renames(session: Session, as_of: date) -> pd.DataFrame:
    """ISIN changes with an ex-date within the window (the book keeps only the ISIN in force)."""
    rows = [
        (a.security_id, a.ref, a.ex_date, a.new_isin, a.applied_at is not None)
        for a in _near_actions(session, as_of, "rename")
        if a.new_isin
    ]
    return pd.DataFrame(rows, columns=RENAME_COLUMNS)
