"""A read-only, array-shaped snapshot of the book for vectorized checks.

Accounts and securities get dense indices (0..n-1); positions are lots summed per
(account, security); cash per (account, currency); FX as a currency x currency matrix on the
as-of date. Floats throughout (analytics, not the ledger).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from engine.compliance.book_rows import ADV_DAYS, average_volumes, days_since_buy, fx_matrix, last_closes
from engine.compliance.reads import note
from engine.compliance.tables import DeskAccount
from engine.errors import ConcurrentUpdate, NotFound
from engine.pricing.fx_memo import fx_table
from engine.pricing.prices import latest_price_date
from engine.store.accounts import Account, Household, Model
from engine.store.market import PriceBar
from engine.store.meta import BookMeta
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security

RECENT_DAYS = 30


def book_as_of(session: Session) -> date:
    """The book's as-of date: recorded in book_meta, else the last price date."""
    v = session.get(BookMeta, "as_of")
    if v is not None:
        return date.fromisoformat(v.value)
    d = latest_price_date(session)
    if d is None:
        raise NotFound("the book has no prices: nothing to check against")
    return d


@dataclass
class Book:
    """The snapshot; `acct` and `sec` rows are in dense-index order."""

    as_of: date
    acct: pd.DataFrame
    sec: pd.DataFrame
    pos_a: np.ndarray
    pos_s: np.ndarray
    pos_q: np.ndarray
    pos_cost_base: np.ndarray
    pos_last_buy: np.ndarray  # days since the most recent lot was acquired
    cash_a: np.ndarray
    cash_c: np.ndarray
    cash_amt: np.ndarray
    currencies: list[str]
    fx: np.ndarray  # fx[i, j]: units of currency j per one unit of currency i
    acct_index: dict[str, int] = field(default_factory=dict)
    sec_index: dict[str, int] = field(default_factory=dict)

    @property
    def n_accounts(self) -> int:
        return len(self.acct)

    @property
    def n_securities(self) -> int:
        return len(self.sec)

    def ccy(self, code: str) -> int:
        try:
            return self.currencies.index(code)
        except ValueError:
            raise NotFound(f"no FX rates for {code} on {self.as_of}") from None


def _frame(session: Session, q: object, columns: list[str]) -> pd.DataFrame:
    rows = session.execute(q).all()  # type: ignore[call-overload]
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows))))


def fetch_tuples(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows as plain DBAPI tuples: three times faster than Row objects for a million lots.

    Only for statements whose result columns need no type conversion (ids and floats).
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args: Any = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    sql = str(compiled)
    note(sql, args)  # a preview check replays its reads at Send (engine.compliance.reads)
    cur = conn.connection.cursor()
    try:
        cur.execute(sql, args)
        return list(cur.fetchall())
    finally:
        cur.close()


def load_book(
    session: Session,
    as_of: date | None = None,
    account_codes: list[str] | None = None,
    security_ids: Collection[int] | None = None,
    adv_ids: Collection[int] | None = None,
) -> Book:
    """Load accounts (all, or just `account_codes`), securities (all, or just `security_ids`: they
    must cover every position of those accounts), positions, cash and FX. The average daily
    volume is computed for every loaded security, or only for `adv_ids` (the orders' securities:
    the only ones a rule reads it for; the others' stays NaN).

    engine.compliance.scope decides what a small batch's check needs (see docs/compliance.md)."""
    as_of = as_of or book_as_of(session)
    aq = (
        select(
            Account.id,
            Account.code,
            Account.base_currency,
            Account.household_id,
            Household.code,
            Model.code,
            Account.tax_status,
            Account.tax_jurisdiction,
            Account.client_type,
            Account.domicile,
            Account.kyc_status,
            Account.kyc_review_date,
            cast(Account.cash_floor, Float),
            cast(Account.min_esg_score, Float),
            Account.esg_exclusions,
            DeskAccount.desk,
        )
        .join(Household, Household.id == Account.household_id)
        .join(Model, Model.id == Account.model_id, isouter=True)
        .join(DeskAccount, DeskAccount.account_code == Account.code, isouter=True)
        .order_by(Account.id)
    )
    if account_codes is not None:
        aq = aq.where(Account.code.in_(sorted(set(account_codes))))
    acct = _frame(
        session,
        aq,
        [
            "id", "code", "base_currency", "household_id", "household", "model", "tax_status",
            "tax_jurisdiction", "client_type", "domicile", "kyc_status", "kyc_review_date",
            "cash_floor", "min_esg_score", "esg_exclusions", "desk",
        ],
    )  # fmt: skip
    sq = select(
        Security.id,
        Security.symbol,
        Security.currency,
        Security.mic,
        Security.country,
        Security.sector,
        Security.issuer,
        cast(Security.esg_score, Float),
        Security.esg_flags,
        Security.restricted_client_types,
        Security.restricted_domiciles,
        cast(Security.price_multiplier, Float),
        Security.asset_class,
    ).order_by(Security.id)
    if security_ids is not None:
        sq = sq.where(Security.id.in_(sorted(security_ids)))
    sec = _frame(
        session,
        sq,
        [
            "id", "symbol", "currency", "mic", "country", "sector", "issuer", "esg_score", "esg_flags",
            "restricted_client_types", "restricted_domiciles", "mult", "asset_class",
        ],
    )  # fmt: skip
    sec_ids = [int(i) for i in sec["id"]]
    closes = last_closes(session, as_of, security_ids)
    sec["price"] = np.array([closes.get(i, np.nan) for i in sec_ids], dtype=float)
    vq = select(PriceBar.security_id, PriceBar.date, PriceBar.volume).where(
        PriceBar.date > as_of - timedelta(days=ADV_DAYS * 2 + 10), PriceBar.date <= as_of
    )
    if adv_ids is not None or security_ids is not None:
        vq = vq.where(
            PriceBar.security_id.in_(sorted(adv_ids if adv_ids is not None else security_ids or ()))
        )
    adv = average_volumes(session.execute(vq).all())
    sec["adv"] = np.array([adv.get(i, np.nan) for i in sec_ids], dtype=float)
    acct_ids = [int(i) for i in acct["id"]]
    acct_pos = {i: n for n, i in enumerate(acct_ids)}
    sec_pos = {i: n for n, i in enumerate(sec_ids)}
    lq = select(
        TaxLot.account_id,
        TaxLot.security_id,
        cast(TaxLot.quantity, Float),
        cast(TaxLot.quantity * TaxLot.unit_cost * TaxLot.fx_rate, Float),
    )
    rq = (
        select(TaxLot.account_id, TaxLot.security_id, func.max(TaxLot.acquired))
        .where(TaxLot.acquired > as_of - timedelta(days=RECENT_DAYS * 2))
        .group_by(TaxLot.account_id, TaxLot.security_id)
    )
    cq = select(
        CashBalance.account_id,
        CashBalance.currency,
        cast(CashBalance.settled, Float) + cast(CashBalance.unsettled, Float),
    )
    if account_codes is not None:
        lq = lq.where(TaxLot.account_id.in_(acct_ids))
        rq = rq.where(TaxLot.account_id.in_(acct_ids))
        cq = cq.where(CashBalance.account_id.in_(acct_ids))
    lots = fetch_tuples(session, lq)
    arr = np.array(lots, dtype=float).reshape(-1, 4)
    pos = _aggregate_lots(arr, acct_pos, sec_pos, sec["mult"].to_numpy(dtype=float))
    cash = [(acct_pos[int(a)], str(c), x) for a, c, x in session.execute(cq).all() if int(a) in acct_pos]
    fxt = fx_table(session, as_of, as_of)  # rebuilt only when the rates read differ
    currencies = sorted(
        set(sec["currency"]) | set(acct["base_currency"]) | {c for _a, c, _x in cash} | set(fxt.currencies)
    )
    cidx = {c: i for i, c in enumerate(currencies)}
    fx = fx_matrix(fxt, tuple(currencies), as_of)
    days = days_since_buy(session.execute(rq).all(), as_of, acct_pos, sec_pos, pos["a"], pos["s"])
    acct = acct.reset_index(drop=True)
    sec = sec.reset_index(drop=True)
    return Book(
        as_of=as_of,
        acct=acct,
        sec=sec,
        pos_a=pos["a"],
        pos_s=pos["s"],
        pos_q=pos["q"],
        pos_cost_base=pos["cost"],
        pos_last_buy=days,
        cash_a=np.array([a for a, _c, _x in cash], dtype=np.int64),
        cash_c=np.array([cidx[c] for _a, c, _x in cash], dtype=np.int64),
        cash_amt=np.array([x for _a, _c, x in cash], dtype=float),
        currencies=currencies,
        fx=fx,
        acct_index={str(c): i for i, c in enumerate(acct["code"])},
        sec_index={str(s): i for i, s in enumerate(sec["symbol"])},
    )


def _aggregate_lots(
    arr: np.ndarray, acct_pos: dict[int, int], sec_pos: dict[int, int], mult: np.ndarray
) -> dict[str, np.ndarray]:
    """Sum lots (account id, security id, quantity, quantity x cost x fx) into positions, in numpy."""
    na, ns = max(acct_pos.values(), default=-1) + 1, len(mult)
    amap = np.full(int(max(acct_pos, default=0)) + 1, -1, dtype=np.int64)
    amap[list(acct_pos)] = list(acct_pos.values())
    smap = np.full(int(max(sec_pos, default=0)) + 1, -1, dtype=np.int64)
    smap[list(sec_pos)] = list(sec_pos.values())
    ids_a = arr[:, 0].astype(np.int64)
    ok = ids_a < len(amap)
    arr, ids_a = arr[ok], ids_a[ok]
    a = amap[ids_a]
    ids_s = arr[:, 1].astype(np.int64)
    s = np.where(ids_s < len(smap), smap[np.minimum(ids_s, len(smap) - 1)], -1)
    keep = a >= 0
    if (s[keep] < 0).any():  # a lot of a security not loaded: never check against part of an account
        missing = sorted({int(x) for x in ids_s[keep & (s < 0)]})[:5]
        raise ConcurrentUpdate(
            f"the book changed while it was loaded (lots of securities {missing}): check again"
        )
    a, s, arr = a[keep], s[keep], arr[keep]
    key = a * ns + s
    uniq, inv = np.unique(key, return_inverse=True)
    q = np.bincount(inv, arr[:, 2], minlength=len(uniq))
    cost = np.bincount(inv, arr[:, 3] * mult[s], minlength=len(uniq))
    del na
    return {"a": uniq // ns, "s": uniq % ns, "q": q, "cost": cost}
