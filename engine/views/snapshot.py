"""One consistent read of the book for the PM panels: valued lots, cash, accounts, securities, models.

Loaded once in a worker (about 1 s for 26k lots) and shared by the holdings grid, the drift
heatmap and the FX exposure panel, so that all three show the same as-of numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.pricing.fx import FxTable
from engine.pricing.prices import latest_price_date
from engine.pricing.valuation import value_cash, value_lots
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database
from engine.store.market import FxRate
from engine.store.meta import BookMeta
from engine.store.positions import TaxLot
from engine.store.reference import Security
from engine.views.lookthrough import model_targets

REPORT_CURRENCY = "USD"


@dataclass
class BookSnapshot:
    """Everything the PM panels show, valued as of one date in each account's base currency."""

    as_of: date | None
    fx: FxTable
    lots: pd.DataFrame
    cash: pd.DataFrame
    accounts: pd.DataFrame
    securities: pd.DataFrame
    targets: pd.DataFrame
    meta: dict[str, str] = field(default_factory=dict)
    fixings: tuple[date, ...] = ()
    """The last two FX fixing dates on or before as_of (latest first), for today's FX move."""
    values: pd.Series | None = None
    """Account values kept when the lots are let go (engine.views.book): the desk holds positions,
    not 1.35M lots; `account_value()` answers from here then."""
    lot_currency: pd.DataFrame | None = None
    """Lots' local market value per (account_id, currency), kept when the lots are let go (the FX
    exposure panel's input)."""

    @property
    def empty(self) -> bool:
        return self.as_of is None or self.accounts.empty

    def account_value(self) -> pd.Series:
        """Total value (lots plus cash) per account id, in the account's base currency."""
        if self.values is not None:
            return self.values.reindex(self.accounts.index, fill_value=0.0)
        lots = self.lots.groupby("account_id")["mv_base"].sum()
        cash = self.cash.groupby("account_id")["value_base"].sum()
        total = lots.add(cash, fill_value=0.0)
        return total.reindex(self.accounts.index, fill_value=0.0)

    def lot_totals(self) -> pd.DataFrame:
        """Lots' mv_local per (account_id, currency): from the lots, or the summary kept without them."""
        if self.lot_currency is not None:
            return self.lot_currency
        if self.lots.empty:
            return pd.DataFrame({"account_id": [], "currency": [], "mv_local": []})
        return self.lots.groupby(["account_id", "currency"], observed=True)["mv_local"].sum().reset_index()


def book_as_of(session: Session) -> date | None:
    """The book's as-of date: the demo's recorded date, else the last price date."""
    row = session.get(BookMeta, "as_of")
    if row is not None:
        return date.fromisoformat(row.value)
    return latest_price_date(session)


def _accounts(session: Session) -> pd.DataFrame:
    q = (
        select(
            Account.id.label("account_id"),
            Account.code,
            Account.name,
            Account.household_id,
            Household.code.label("household"),
            Household.name.label("household_name"),
            Account.base_currency,
            Account.model_id,
            Model.code.label("model"),
            cast(Account.cash_target, Float).label("cash_target"),
            cast(Account.drift_band, Float).label("drift_band"),
            Account.tax_status,
            Account.tax_jurisdiction,
        )
        .join(Household, Household.id == Account.household_id)
        .join(Model, Model.id == Account.model_id, isouter=True)
        .order_by(Account.code)
    )
    result = session.execute(q)
    return pd.DataFrame(result.all(), columns=list(result.keys())).set_index("account_id", drop=False)


def _securities(session: Session) -> pd.DataFrame:
    q = select(
        Security.id.label("security_id"),
        Security.symbol,
        Security.name,
        Security.asset_class,
        Security.currency,
        Security.mic,
        Security.country,
        Security.sector,
    )
    result = session.execute(q)
    return pd.DataFrame(result.all(), columns=list(result.keys())).set_index("security_id", drop=False)


def lot_refs(database: Database, lot_ids: list[int]) -> dict[int, str]:
    """The references of these lots (the custodian's lot ids), for one position's lots grid."""
    if not lot_ids:
        return {}
    with database.session() as session:
        rows = session.execute(select(TaxLot.id, TaxLot.lot_ref).where(TaxLot.id.in_(lot_ids))).all()
    return {int(i): str(r) for i, r in rows}


def compact_lots(lots: pd.DataFrame) -> pd.DataFrame:
    """Currency codes as categoricals (two bytes a lot, not a string object), in place."""
    for col in ("base_currency", "currency"):
        if col in lots:
            lots[col] = lots[col].astype("category")
    if "acquired" in lots:
        lots["acquired"] = pd.to_datetime(lots["acquired"])
    return lots


def load_snapshot(database: Database, as_of: date | None = None, with_lots: bool = True) -> BookSnapshot:
    """Read and value the whole book as of `as_of` (the book's as-of date by default).

    `with_lots=False` reads everything but the lots (an empty frame): engine.views.book values
    them account chunk by chunk and keeps positions only."""
    with database.session() as session:
        meta = {m.key: m.value for m in session.scalars(select(BookMeta))}
        as_of = as_of or book_as_of(session)
        accounts = _accounts(session)
        securities = _securities(session)
        targets = model_targets(session)
        if as_of is None or accounts.empty:
            empty = pd.DataFrame()
            return BookSnapshot(
                as_of, FxTable(pd.DataFrame()), empty, empty, accounts, securities, targets, meta
            )
        fx = FxTable.load(session, end=as_of)
        lots = value_lots(session, as_of, fx) if with_lots else pd.DataFrame()
        cash = value_cash(session, as_of, fx)
        fixings = tuple(
            session.scalars(
                select(FxRate.date)
                .where(FxRate.date <= as_of)
                .distinct()
                .order_by(FxRate.date.desc())
                .limit(2)
            )
        )
    # The lot references (1.35M strings on the 10,000-account book, ~3 CPU-s through the ORM and
    # ~100 MB) are read for one position's lots when it is opened (lot_refs), not here; the
    # currency codes are categoricals (two bytes a lot instead of a string object).
    if with_lots:
        compact_lots(lots)
    return BookSnapshot(as_of, fx, lots, cash, accounts, securities, targets, meta, fixings)
