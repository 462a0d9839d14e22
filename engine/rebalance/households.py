"""Household groups as data: which households rebalance as one problem, their target and tax year.

A group (`household_groups`) names the household's target (a household model, or `blend`: the
value-weighted blend of its accounts' models), the reporting currency its figures are in, an
annual tax budget (cap on additional estimated tax) and a loss carry-forward. Year-to-date
realized gains come from the ledger (`realized_gains`, taxable accounts, this calendar year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.accounting.tables import RealizedGain
from engine.audit.chain import record
from engine.errors import NotFound, WorkstationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.tables import HouseholdGroup
from engine.rebalance.taxes import rates_for
from engine.store.accounts import Account, Household, Model

BLEND = "blend"
# Defining a household's target is a mandate decision like a model change: models.edit (PMs).
SET_PERMISSION = Permission.MODELS_EDIT


@dataclass(frozen=True)
class HouseholdSpec:
    """One group as the solver sees it (shipped to workers with the household's accounts)."""

    household_id: int
    code: str
    target: str  # model code or "blend"
    target_model_id: int | None
    currency: str
    tax_budget: float | None  # reporting currency
    carry_forward: float  # reporting currency, positive
    ytd_gain: float  # net realized gains this year in taxable accounts (reporting currency)
    ytd_tax: float  # estimated tax on them, before the carry-forward


def set_group(
    session: Session,
    username: str,
    household: str,
    target: str,
    *,
    currency: str | None = None,
    tax_budget: Decimal | None = None,
    carry_forward: Decimal = Decimal(0),
) -> dict[str, Any]:
    """Create or change a household's group (models.edit), audited `household_group.set`."""
    require(session, username, SET_PERMISSION)
    hh = session.scalar(select(Household).where(Household.code == household))
    if hh is None:
        raise NotFound(f"no such household: {household}")
    model_id = None
    if target != BLEND:
        model_id = session.scalar(select(Model.id).where(Model.code == target))
        if model_id is None:
            raise NotFound(f"household {household}: target: no such model {target!r} (or 'blend')")
    if tax_budget is not None and tax_budget < 0:
        raise WorkstationError(f"household {household}: tax_budget: must be >= 0 (got {tax_budget})")
    if carry_forward < 0:
        raise WorkstationError(f"household {household}: carry_forward: must be >= 0 (got {carry_forward})")
    bases = sorted(set(session.scalars(select(Account.base_currency).where(Account.household_id == hh.id))))
    if not bases:
        raise WorkstationError(f"household {household}: has no accounts")
    ccy = currency or ("USD" if "USD" in bases or len(bases) > 1 else bases[0])
    row = session.scalar(select(HouseholdGroup).where(HouseholdGroup.household_id == hh.id))
    before = None if row is None else _as_dict(session, row, household)
    if row is None:
        row = HouseholdGroup(household_id=hh.id, carry_forward=Decimal(0))
        session.add(row)
    row.target_model_id = model_id
    row.reporting_currency = ccy
    row.tax_budget = tax_budget
    row.carry_forward = carry_forward
    row.updated_by = username
    session.flush()
    after = _as_dict(session, row, household)
    record(session, username, "household_group.set", "household", household, before, after)
    return after


def _as_dict(session: Session, row: HouseholdGroup, code: str) -> dict[str, Any]:
    target = BLEND
    if row.target_model_id is not None:
        target = str(session.scalar(select(Model.code).where(Model.id == row.target_model_id)))
    return {
        "household": code,
        "target": target,
        "reporting_currency": row.reporting_currency,
        "tax_budget": None if row.tax_budget is None else float(row.tax_budget),
        "carry_forward": float(row.carry_forward),
    }


def list_groups(session: Session) -> list[dict[str, Any]]:
    """Every group with its accounts (codes, tax status), ordered by household code."""
    rows = session.execute(
        select(HouseholdGroup, Household.code).join(Household, Household.id == HouseholdGroup.household_id)
    ).all()
    out = []
    for row, code in sorted(rows, key=lambda r: r[1]):
        accts = session.execute(
            select(Account.code, Account.tax_status, Account.base_currency)
            .where(Account.household_id == row.household_id)
            .order_by(Account.code)
        ).all()
        out.append(
            _as_dict(session, row, code)
            | {"accounts": [{"account": c, "tax_status": t, "base_currency": b} for c, t, b in accts]}
        )
    return out


def attach_groups(session: Session, u: Universe, accounts: list[AccountInput]) -> None:
    """Give each account of a grouped household its `HouseholdSpec` (with the ledger's tax year)."""
    hids = sorted({a.household_id for a in accounts})
    if not hids:
        return
    rows = session.execute(
        select(HouseholdGroup, Household.code)
        .join(Household, Household.id == HouseholdGroup.household_id)
        .where(HouseholdGroup.household_id.in_(hids))
    ).all()
    if not rows:
        return
    codes = dict(session.execute(select(Model.id, Model.code)).all())
    grouped = {row.household_id for row, _c in rows}
    ytd = _ytd(session, u, grouped)
    specs = {}
    for row, code in rows:
        gain, tax = ytd.get(row.household_id, (0.0, 0.0))
        specs[row.household_id] = HouseholdSpec(
            household_id=row.household_id,
            code=str(code),
            target=BLEND if row.target_model_id is None else str(codes[row.target_model_id]),
            target_model_id=row.target_model_id,
            currency=row.reporting_currency,
            tax_budget=None if row.tax_budget is None else float(row.tax_budget),
            carry_forward=float(row.carry_forward),
            ytd_gain=gain,
            ytd_tax=tax,
        )
    for a in accounts:
        a.group = specs.get(a.household_id)


def _ytd(session: Session, u: Universe, households: set[int]) -> dict[int, tuple[float, float]]:
    """Per household: realized net gain this calendar year (reporting currency, taxable accounts
    only) and its estimated tax at each account's short/long-term rates."""
    start = date(u.as_of.year, 1, 1)
    ccy = dict(
        session.execute(
            select(HouseholdGroup.household_id, HouseholdGroup.reporting_currency).where(
                HouseholdGroup.household_id.in_(households)
            )
        ).all()
    )
    rows = session.execute(
        select(
            Account.household_id,
            Account.tax_status,
            Account.tax_jurisdiction,
            RealizedGain.base_currency,
            RealizedGain.term,
            func.sum(cast(RealizedGain.gain_base, Float)),
        )
        .join(Account, Account.id == RealizedGain.account_id)
        .where(Account.household_id.in_(households), RealizedGain.sold >= start, RealizedGain.sold <= u.as_of)
        .group_by(
            Account.household_id,
            Account.tax_status,
            Account.tax_jurisdiction,
            RealizedGain.base_currency,
            RealizedGain.term,
        )
    ).all()
    out: dict[int, tuple[float, float]] = {}
    for hh, status, juris, base, term, gain in rows:
        rates = rates_for(juris, status)
        if status != "taxable" or gain is None:
            continue
        g = float(gain) * u.fx_to[ccy[hh]][base]
        rate = rates.long_term if term == "long" else rates.short_term
        old = out.get(hh, (0.0, 0.0))
        out[hh] = (old[0] + g, old[1] + g * rate)
    return out
