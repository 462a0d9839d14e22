"""What a rebalance run reads: the accounts chosen, the universe with its risk model, the accounts'
inputs (harvest history, tax year, equivalents, household groups), and load chunks that keep a
household whole."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from engine.rebalance import equivalents
from engine.rebalance.book import (
    AccountInput,
    Universe,
    attach_settlement,
    book_as_of,
    load_accounts,
    load_universe,
)
from engine.rebalance.harvest import apply_identical_groups, attach_harvest_history
from engine.rebalance.households import attach_groups
from engine.rebalance.risk import attach_risk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tax_year import attach_tax_year
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database

# With a process pool, accounts are read this many at a time and the first batches are solved
# while later ones are still being read (the read is about a sixth of a 10,000-account run).
LOAD_CHUNK = 2000


def select_account_ids(
    database: Database,
    *,
    codes: Iterable[str] | None = None,
    model: str | None = None,
    household: str | None = None,
) -> list[int] | None:
    """Account ids chosen by code list, model code or household code; None means all."""
    from engine.errors import NotFound

    with database.session() as session:
        q = select(Account.id).order_by(Account.id)
        if codes:
            wanted = list(codes)
            found = dict(
                session.execute(select(Account.code, Account.id).where(Account.code.in_(wanted))).all()
            )
            missing = [c for c in wanted if c not in found]
            if missing:
                raise NotFound(f"no such account: {', '.join(missing)}")
            q = q.where(Account.id.in_(list(found.values())))
        if model:
            mid = session.scalar(select(Model.id).where(Model.code == model))
            if mid is None:
                raise NotFound(f"no such model: {model}")
            q = q.where(Account.model_id == mid)
        if household:
            hid = session.scalar(select(Household.id).where(Household.code == household))
            if hid is None:
                raise NotFound(f"no such household: {household}")
            q = q.where(Account.household_id == hid)
        if not (codes or model or household):
            return None
        return list(session.scalars(q))


def load_book_universe(database: Database, settings: RebalanceSettings | None = None) -> Universe:
    """Securities, prices, FX and the risk model (and settlement dates for a cash raise by a date)."""
    with database.session() as session:
        as_of = book_as_of(session)
        u = load_universe(session, as_of)
        apply_identical_groups(session, u)
        attach_risk(session, u, as_of)
        if settings is not None and settings.cash_raise_by is not None:
            attach_settlement(session, u, settings.trade_date or as_of)
    if settings is not None and settings.equivalents_file is not None:  # a bad file stops the run here
        equivalents.derive(u, settings.equivalents_file or None)
    return u


def load_run(
    database: Database, account_ids: list[int] | None, settings: RebalanceSettings | None = None
) -> tuple[Universe, list[AccountInput]]:
    u = load_book_universe(database, settings)
    with database.session() as session:
        accounts = load_accounts(session, u, account_ids)
        attach_harvest_history(session, u, accounts)
        attach_tax_year(session, u, accounts)
        equivalents.assign(u, accounts)
        if settings is not None and settings.households:
            attach_groups(session, u, accounts)
    return u, accounts


def id_chunks(database: Database, account_ids: list[int] | None, size: int = LOAD_CHUNK) -> list[list[int]]:
    """The selected account ids in load order (household, id), cut every ~size accounts at a
    household boundary, so each chunk loads with its households' whole wash-sale history."""
    with database.session() as session:
        q = select(Account.id, Account.household_id).order_by(Account.household_id, Account.id)
        if account_ids is not None:
            q = q.where(Account.id.in_(account_ids))
        rows = session.execute(q).all()
    out: list[list[int]] = []
    cur: list[int] = []
    for i, (aid, hh) in enumerate(rows):
        cur.append(int(aid))
        nxt = rows[i + 1][1] if i + 1 < len(rows) else None
        if len(cur) >= size and nxt != hh:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out
