"""The PM desk's book: positions and account rows, valued account chunk by chunk, without the lots.

The 10,000-account demo book has 1.35M open lots. Valued all at once (`load_snapshot` with its
lots, then `holdings.positions`) the read peaked at about 1 GB, and the desk kept the lots for
the FX panel and the lots drill-down. Here the lots are read and valued `CHUNK` accounts at a
time (the same `value_lots`, `lots_with_terms`, `positions` and `accounts` as before, on a
snapshot cut to those accounts), each chunk reduced to its positions, its account rows and its
lots' local value per currency, and let go. What the desk keeps:

* positions (one row per account and security or cash currency), their text columns as
  categoricals;
* account rows (the accounts grid);
* `snap.values` (account values) and `snap.lot_currency` (the FX exposure's input);
  `snap.lots` is empty. One position's lots are read when it is opened (`position_lots`).

`refresh_accounts` recomputes the rows of a few accounts another desk changed (a fill booked
lots and cash) with the same chunk function, and splices them in: the other accounts' rows are
not recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import select

from engine.oms.tables import Order
from engine.pricing.prices import last_prices
from engine.pricing.valuation import load_lots, value_cash, value_loaded
from engine.store.database import Database
from engine.views import holdings
from engine.views.snapshot import BookSnapshot, compact_lots, load_snapshot, lot_refs

CHUNK = 1000
"""Accounts valued together: ~135k lots on the demo book, a tenth of the whole at once."""
TEXT_COLUMNS = ("symbol", "name", "sector", "asset_class", "currency", "mic", "base_currency", "account")
Progress = Callable[[int, str], None]


@dataclass
class BookFrames:
    snap: BookSnapshot
    positions: pd.DataFrame
    accounts: pd.DataFrame


@dataclass
class Chunk:
    positions: pd.DataFrame
    accounts: pd.DataFrame
    lot_currency: pd.DataFrame


def read_lots(
    database: Database, snap: BookSnapshot, ids: list[int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The open lots (of `ids`, default all) and the last prices, unvalued: one read."""
    assert snap.as_of is not None
    with database.session() as session:
        return load_lots(session, ids), last_prices(session, snap.as_of)


def value_chunk(snap: BookSnapshot, lots: pd.DataFrame, prices: pd.DataFrame, ids: Sequence[int]) -> Chunk:
    """Positions, account rows and lot totals of the accounts `ids` from their lots (read, not
    valued yet), with the snapshot's cash, FX and as-of date, exactly as `holdings` computes them
    for the whole book."""
    assert snap.as_of is not None
    lots = value_loaded(lots, prices, snap.fx, snap.as_of)
    index = pd.Index(ids)
    part = replace(
        snap,
        lots=lots,
        cash=snap.cash[snap.cash["account_id"].isin(index)],
        accounts=snap.accounts.loc[index],
        values=None,
        lot_currency=None,
    )
    lots = holdings.lots_with_terms(part)
    pos = holdings.positions(part, lots)
    accts = holdings.accounts(part, pos)
    totals = part.lot_totals()
    totals["currency"] = totals["currency"].astype(str)
    return Chunk(pos, accts, totals)


def _categories(pos: pd.DataFrame, key: np.ndarray, columns: Sequence[str]) -> None:
    """Text columns that are a function of the integer `key` as categoricals, in place: the key
    is factorized (integers: fast) and each column's text looked at once per distinct key, not
    once per row (factorizing 1.2M strings took ~0.6 CPU-s a column)."""
    codes, _ = pd.factorize(key)
    _, first = np.unique(codes, return_index=True)
    for col in columns:
        if col not in pos:
            continue
        reps = pos[col].to_numpy(dtype=object)[first]
        rep_codes, cats = pd.factorize(reps)
        pos[col] = pd.Categorical.from_codes(rep_codes[codes], categories=cats)


def compact(pos: pd.DataFrame, like: pd.DataFrame | None = None) -> pd.DataFrame:
    """Text columns as categoricals (in place); with `like`, on the union of its categories and
    the new values, so a splice keeps the dtype (concat of different categoricals is object)."""
    if like is None:
        if pos.empty:
            return pos
        key = pos["security_id"].to_numpy(dtype=np.int64).copy()
        cash = key < 0  # cash rows: one key per currency
        if cash.any():
            ccy, _ = pd.factorize(pos["currency"].to_numpy(dtype=object)[cash])
            key[cash] = -1 - ccy
        _categories(pos, key, ("symbol", "name", "sector", "asset_class", "currency", "mic"))
        _categories(pos, pos["account_id"].to_numpy(dtype=np.int64), ("base_currency", "account"))
        return pos
    for col in TEXT_COLUMNS:
        if col not in pos:
            continue
        values = pos[col].astype(object)
        if isinstance(like[col].dtype, pd.CategoricalDtype):
            known = like[col].cat.categories
            new = pd.Index(values.dropna().unique()).difference(known)
            cats = known.append(new) if len(new) else known
            pos[col] = pd.Categorical(values, categories=cats)
        else:
            pos[col] = values.astype("category")
    return pos


def load_frames(database: Database, progress: Progress | None = None, chunk: int = CHUNK) -> BookFrames:
    """The whole book for the desk: the lots read once (numbers, not valued yet), then valued
    and reduced to positions `chunk` accounts at a time (see the module's note)."""
    snap = load_snapshot(database, with_lots=False)
    if snap.empty:
        return BookFrames(snap, pd.DataFrame(), snap.accounts.reset_index(drop=True))
    if progress is not None:
        progress(10, "Reading lots")
    every, prices = read_lots(database, snap)
    order = np.argsort(every["account_id"].to_numpy(), kind="stable")
    by_account = every["account_id"].to_numpy()[order]
    ids = np.sort(snap.accounts.index.to_numpy())
    parts: list[Chunk] = []
    for start in range(0, len(ids), chunk):
        group = ids[start : start + chunk]
        if progress is not None:
            progress(
                20 + int(75 * start / len(ids)), f"Valuing accounts {start + 1:,}-{start + len(group):,}"
            )
        lo, hi = by_account.searchsorted(group[0], "left"), by_account.searchsorted(group[-1], "right")
        lots = every.iloc[np.sort(order[lo:hi])].reset_index(drop=True)
        parts.append(value_chunk(snap, lots, prices, [int(i) for i in group]))
    del every, order, by_account
    pos = compact(pd.concat([p.positions for p in parts], ignore_index=True))
    accts = (
        pd.concat([p.accounts for p in parts], ignore_index=True)
        .set_index("account_id", drop=False)
        .loc[snap.accounts.index]
        .reset_index(drop=True)
    )
    snap.values = accts.set_index("account_id")["value_base"]
    snap.lot_currency = pd.concat([p.lot_currency for p in parts], ignore_index=True)
    snap.lots = pd.DataFrame()
    return BookFrames(snap, pos, accts)


def refresh_accounts(database: Database, book: BookFrames, account_ids: Iterable[int]) -> BookFrames:
    """A new BookFrames with the rows of `account_ids` recomputed (their lots and cash read
    again); every other account's rows are the old ones. Unknown ids are ignored."""
    snap = book.snap
    ids = sorted({int(i) for i in account_ids} & set(snap.accounts.index.tolist()))
    if not ids or snap.as_of is None:
        return book
    with database.session() as session:
        cash = value_cash(session, snap.as_of, snap.fx)
    keep_cash = ~snap.cash["account_id"].isin(ids)
    new_cash = pd.concat([snap.cash[keep_cash], cash[cash["account_id"].isin(ids)]], ignore_index=True)
    snap2 = replace(snap, cash=new_cash)
    part = value_chunk(snap2, *read_lots(database, snap2, ids), ids)
    old = book.positions
    pos = pd.concat([old[~old["account_id"].isin(ids)], compact(part.positions, like=old)], ignore_index=True)
    for col in TEXT_COLUMNS:  # widen the old rows' categories to the spliced ones
        if col in pos and not isinstance(pos[col].dtype, pd.CategoricalDtype):
            pos[col] = pos[col].astype("category")
    accts = book.accounts.set_index("account_id", drop=False)
    fresh = part.accounts.set_index("account_id", drop=False)
    accts = pd.concat([accts.drop(index=ids), fresh]).loc[accts.index].reset_index(drop=True)
    totals = snap.lot_totals()
    snap2.lot_currency = pd.concat(
        [totals[~totals["account_id"].isin(ids)], part.lot_currency], ignore_index=True
    )
    values = snap.account_value().copy()
    values.loc[ids] = fresh["value_base"].reindex(ids).to_numpy()
    snap2.values = values
    return BookFrames(snap2, pos, accts)


def accounts_of_orders(database: Database, order_ids: Iterable[int]) -> list[int]:
    """The accounts whose lots and cash these orders book: each order's account, and for a block,
    its children's."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return []
    with database.session() as session:
        found = session.scalars(
            select(Order.account_id).where(
                (Order.id.in_(ids) | Order.parent_id.in_(ids)) & Order.account_id.is_not(None)
            )
        ).all()
    return sorted({int(a) for a in found if a is not None})


def position_lots(database: Database, snap: BookSnapshot, account_id: int, security_id: int) -> pd.DataFrame:
    """The open lots of one position, valued as `value_lots` values them (the lots grid; the
    desk does not keep the book's lots)."""
    assert snap.as_of is not None
    with database.session() as session:
        lots = load_lots(session, [account_id])
        lots = lots[lots["security_id"] == security_id].reset_index(drop=True)
        prices = last_prices(session, snap.as_of, [security_id])
    lots = value_loaded(lots, prices, snap.fx, snap.as_of)
    lots = holdings.lots_with_terms(replace(snap, lots=compact_lots(lots)))
    return holdings.lots_of(snap, lots, account_id, security_id, lambda ids: lot_refs(database, ids))
