"""The PM desk's book: positions and account rows valued from the lots' columns, without the lots.

The 10,000-account demo book has 1.35M open lots. The lots are read once as numpy columns
(`engine.pricing.lot_columns`: one aggregate query whose texts numpy parses, not a Python
tuple per lot) and valued in numpy for the whole book (`engine.views.book_values`: the figures
of `value_lots`, `holdings.positions` and `holdings.accounts`, FX once per currency pair, sums
by position index). What the desk keeps:

* positions (one row per account and security or cash currency), their text columns as
  categoricals;
* account rows (the accounts grid);
* `snap.values` (account values) and `snap.lot_currency` (the FX exposure's input);
  `snap.lots` is empty. One position's lots are read when it is opened (`position_lots`).

`refresh_accounts` recomputes the rows of a few accounts another desk changed (a fill booked
lots and cash) the same way, and splices them in: the other accounts' rows are not recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
from sqlalchemy import Float, cast, select

from engine.accounting.holding import last_long_acquisition
from engine.oms.tables import Order
from engine.pricing.lot_columns import LotColumns, read_lot_columns
from engine.pricing.prices import last_prices
from engine.pricing.valuation import load_lots, value_cash, value_loaded
from engine.store.database import Database
from engine.store.reference import Security
from engine.views import holdings
from engine.views.book_values import value_book
from engine.views.snapshot import BookSnapshot, book_as_of, compact_lots, load_snapshot, lot_refs

TEXT_COLUMNS = ("symbol", "name", "sector", "asset_class", "currency", "mic", "base_currency", "account")
Progress = Callable[[int, str], None]


@dataclass
class BookFrames:
    snap: BookSnapshot
    positions: pd.DataFrame
    accounts: pd.DataFrame


def read_lots(
    database: Database, snap: BookSnapshot, ids: list[int] | None = None
) -> tuple[LotColumns, pd.DataFrame, pd.Series]:
    """The open lots (of `ids`, default all) as columns with their term on the as-of date, the
    last prices and the securities' price multipliers: one session."""
    assert snap.as_of is not None
    return read_lots_as_of(database, snap.as_of, ids)


def read_lots_as_of(
    database: Database, as_of: date, ids: list[int] | None = None
) -> tuple[LotColumns, pd.DataFrame, pd.Series]:
    """`read_lots` for a date (it needs nothing else of the snapshot)."""
    with database.session() as session:
        lots = read_lot_columns(session, last_long_acquisition(as_of), ids)
        prices = last_prices(session, as_of)
        mult = session.execute(select(Security.id, cast(Security.price_multiplier, Float))).all()
    return lots, prices, pd.Series({int(i): float(m) for i, m in mult}, dtype=float)


def readable_from_another_thread(database: Database) -> bool:
    """False for an in-memory SQLite book: each thread's connection would be a database of its own."""
    url = database.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def snapshot_and_lots(
    database: Database, progress: Progress | None = None
) -> tuple[BookSnapshot, tuple[LotColumns, pd.DataFrame, pd.Series] | None]:
    """The snapshot without lots and the lots' columns, read at the same time: the lots' aggregate
    query runs inside SQLite or PostgreSQL with the GIL released (~0.8 CPU-s on 1.35M lots), on a
    thread of its own, while this one builds the snapshot's frames in Python (and the window's
    other docks load theirs). None for the lots when the book has no accounts or no as-of date."""
    with database.session() as session:
        as_of = book_as_of(session)
    if as_of is None:
        return load_snapshot(database, with_lots=False), None
    if progress is not None:
        progress(10, "Reading lots")
    if not readable_from_another_thread(database):
        snap = load_snapshot(database, as_of=as_of, with_lots=False)
        return snap, None if snap.empty else read_lots_as_of(database, as_of)
    with ThreadPoolExecutor(1, thread_name_prefix="lot-read") as pool:
        lots = pool.submit(read_lots_as_of, database, as_of)
        snap = load_snapshot(database, as_of=as_of, with_lots=False)
        read = lots.result()  # the read's own error, if any, is raised here
    return snap, None if snap.empty else read


def compact(pos: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Text columns as categoricals (in place) on the union of `like`'s categories and the new
    values, so a splice keeps the dtype (concat of different categoricals is object)."""
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


def load_frames(database: Database, progress: Progress | None = None) -> BookFrames:
    """The whole book for the desk: the lots read once as columns, valued in numpy, let go."""
    snap, read = snapshot_and_lots(database, progress)
    if read is None or snap.empty:
        return BookFrames(snap, pd.DataFrame(), snap.accounts.reset_index(drop=True))
    lots, prices, mult = read
    if progress is not None:
        progress(50, f"Valuing {len(lots):,} lots")
    valued = value_book(snap, lots, prices, mult, snap.accounts.index.tolist())
    del lots
    snap.values = valued.accounts.set_index("account_id")["value_base"]
    snap.lot_currency = valued.lot_currency
    snap.lots = pd.DataFrame()
    return BookFrames(snap, valued.positions, valued.accounts)


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
    part = value_book(snap2, *read_lots(database, snap2, ids), ids)
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
