"""A read-only, array-shaped snapshot of the book for vectorized checks.

Accounts and securities get dense indices (0..n-1); positions are lots summed per
(account, security); cash per (account, currency); FX as a currency x currency matrix on the
as-of date. Floats throughout (analytics, not the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from engine.compliance.tables import DeskAccount
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices, latest_price_date
from engine.store.accounts import Account, Household, Model
from engine.store.market import PriceBar
from engine.store.meta import BookMeta
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security

RECENT_DAYS = 30
ADV_DAYS = 20


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
        return self.currencies.index(code)


def _frame(session: Session, q: object, columns: list[str]) -> pd.DataFrame:
    rows = session.execute(q).all()  # type: ignore[call-overload]
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows))))


def load_book(session: Session, as_of: date | None = None, account_codes: list[str] | None = None) -> Book:
    """Load accounts (all, or just `account_codes`), every security, positions, cash and FX."""
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
    sec = _frame(
        session,
        sq,
        [
            "id", "symbol", "currency", "mic", "country", "sector", "issuer", "esg_score", "esg_flags",
            "restricted_client_types", "restricted_domiciles", "mult", "asset_class",
        ],
    )  # fmt: skip
    prices = last_prices(session, as_of)
    sec["price"] = sec["id"].map(prices["close"]).astype(float) if len(prices) else np.nan
    vq = select(PriceBar.security_id, PriceBar.date, PriceBar.volume).where(
        PriceBar.date > as_of - timedelta(days=ADV_DAYS * 2 + 10), PriceBar.date <= as_of
    )
    vol = _frame(session, vq, ["security_id", "date", "volume"])
    if len(vol):
        vol = vol.dropna().sort_values(["security_id", "date"])
        adv = vol.groupby("security_id")["volume"].apply(lambda s: float(np.mean(s.to_numpy()[-ADV_DAYS:])))
        sec["adv"] = sec["id"].map(adv).astype(float)
    else:
        sec["adv"] = np.nan
    acct_pos = {int(i): n for n, i in enumerate(acct["id"])}
    sec_pos = {int(i): n for n, i in enumerate(sec["id"])}
    lq = (
        select(
            TaxLot.account_id,
            TaxLot.security_id,
            func.sum(cast(TaxLot.quantity, Float)),
            func.sum(
                cast(TaxLot.quantity, Float)
                * cast(TaxLot.unit_cost, Float)
                * cast(TaxLot.fx_rate, Float)
                * cast(Security.price_multiplier, Float)
            ),
            func.max(TaxLot.acquired),
        )
        .join(Security, Security.id == TaxLot.security_id)
        .group_by(TaxLot.account_id, TaxLot.security_id)
    )
    cq = select(
        CashBalance.account_id,
        CashBalance.currency,
        cast(CashBalance.settled, Float) + cast(CashBalance.unsettled, Float),
    )
    if account_codes is not None:
        ids = [int(i) for i in acct["id"]]
        lq = lq.where(TaxLot.account_id.in_(ids))
        cq = cq.where(CashBalance.account_id.in_(ids))
    pos = _frame(session, lq, ["account_id", "security_id", "quantity", "cost_base", "last_buy"])
    cash = _frame(session, cq, ["account_id", "currency", "amount"])
    pos = pos[pos["account_id"].isin(acct_pos.keys())]
    cash = cash[cash["account_id"].isin(acct_pos.keys())]
    currencies = sorted(set(sec["currency"]) | set(acct["base_currency"]) | set(cash["currency"]) | {"USD"})
    cidx = {c: i for i, c in enumerate(currencies)}
    fxt = FxTable.load(session, start=as_of, end=as_of)
    n = len(currencies)
    frm = np.repeat(np.array(currencies, dtype=object), n)
    to = np.tile(np.array(currencies, dtype=object), n)
    fx = fxt.rates(frm, to, as_of).reshape(n, n)
    last_buy = pd.to_datetime(pos["last_buy"]) if len(pos) else pd.Series([], dtype="datetime64[ns]")
    days = (pd.Timestamp(as_of) - last_buy).dt.days.to_numpy(dtype=float) if len(pos) else np.zeros(0)
    acct = acct.reset_index(drop=True)
    sec = sec.reset_index(drop=True)
    return Book(
        as_of=as_of,
        acct=acct,
        sec=sec,
        pos_a=pos["account_id"].map(acct_pos).to_numpy(dtype=np.int64),
        pos_s=pos["security_id"].map(sec_pos).to_numpy(dtype=np.int64),
        pos_q=pos["quantity"].to_numpy(dtype=float),
        pos_cost_base=pos["cost_base"].to_numpy(dtype=float),
        pos_last_buy=days,
        cash_a=cash["account_id"].map(acct_pos).to_numpy(dtype=np.int64),
        cash_c=cash["currency"].map(cidx).to_numpy(dtype=np.int64),
        cash_amt=cash["amount"].to_numpy(dtype=float),
        currencies=currencies,
        fx=fx,
        acct_index={str(c): i for i, c in enumerate(acct["code"])},
        sec_index={str(s): i for i, s in enumerate(sec["symbol"])},
    )
