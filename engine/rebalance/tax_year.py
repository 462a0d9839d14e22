"""The tax year an account solve knows: the ledger's year-to-date gains, carry-forward and budgets.

Per account (`TaxYear`, attached to each `AccountInput` by `attach_tax_year`), in its base
currency at the book's FX:

* its household's realized net gains this calendar year in taxable accounts (`realized_gains`),
  taxed at each selling account's short/long-term rate by `term`, minus the household's loss
  carry-forward (`household_groups.carry_forward`, at the account's long-term rate): `ytd_tax`;
* the account's own realized tax this year (`own_ytd_tax`) and its annual budget
  (`account_tax_budgets`, set with `set_account_budget`): the year's tax of the account, realized
  gains included, may not exceed it;
* the household's annual budget (`household_groups.tax_budget`): additional tax of the year
  after netting, shared by the household's accounts in the order they are solved in a run.

`qp_year` puts `ytd_tax` into the objective (a loss nets the year's gains first) and the tighter
budget as a hard row; `styled` keeps the budget after rounding and tracks what earlier accounts
of the household spent in the same run.
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
from engine.rebalance.tables import AccountTaxBudget, HouseholdGroup
from engine.rebalance.taxes import rates_for
from engine.store.accounts import Account

# A tax budget is a mandate decision, like a household's target: models.edit (PMs, not traders).
SET_PERMISSION = Permission.MODELS_EDIT


@dataclass(frozen=True)
class TaxYear:
    """One account's view of its tax year (base currency)."""

    ytd_tax: float  # household: tax on this year's realized net gains, minus the carry-forward's
    own_ytd_tax: float  # this account's realized tax this year
    account_budget: float | None  # annual budget of the account (its year's tax, YTD included)
    household_budget: float | None  # household: cap on additional tax this year after netting
    household_ytd_tax: float  # household: tax on this year's net gains (no carry-forward)
    spent: float = 0.0  # tax of the household's accounts solved earlier in this run (budget only)
    tighten: float = 0.0  # cut from the cap after a rounded proposal crossed it (styled)

    def cap(self) -> float | None:
        """The run's tax this account may add (base currency), or None when no budget applies."""
        caps = []
        if self.account_budget is not None:
            caps.append(self.account_budget - max(self.own_ytd_tax, 0.0))
        if self.household_budget is not None:
            ytd = self.household_ytd_tax
            caps.append(self.household_budget + max(ytd, 0.0) - ytd - self.spent)
        if not caps:
            return None
        return max(min(caps) - self.tighten, 0.0)

    def active(self) -> bool:
        """The year changes the account's problem (a YTD position, a carry-forward or a budget)."""
        return abs(self.ytd_tax) > 0.005 or self.cap() is not None


def set_account_budget(
    session: Session, username: str, account: str, budget: Decimal | None
) -> dict[str, Any]:
    """Set (or with None remove) an account's annual tax budget; models.edit, audited `tax_budget.set`."""
    require(session, username, SET_PERMISSION)
    acct = session.scalar(select(Account).where(Account.code == account))
    if acct is None:
        raise NotFound(f"no such account: {account}")
    if budget is not None and budget < 0:
        raise WorkstationError(f"account {account}: tax_budget: must be >= 0 (got {budget})")
    row = session.scalar(select(AccountTaxBudget).where(AccountTaxBudget.account_id == acct.id))
    before = None if row is None else _as_dict(row, account)
    if budget is None:
        if row is not None:
            session.delete(row)
        after = {"account": account, "currency": acct.base_currency, "tax_budget": None}
    else:
        if row is None:
            row = AccountTaxBudget(account_id=acct.id)
            session.add(row)
        row.currency = acct.base_currency
        row.tax_budget = budget
        row.updated_by = username
        session.flush()
        after = _as_dict(row, account)
    record(session, username, "tax_budget.set", "account", account, before, after)
    return after


def _as_dict(row: AccountTaxBudget, code: str) -> dict[str, Any]:
    return {"account": code, "currency": row.currency, "tax_budget": float(row.tax_budget)}


def list_budgets(session: Session, as_of: date) -> list[dict[str, Any]]:
    """Every account budget with the account's realized tax this year (estimate), by account code."""
    rows = session.execute(
        select(AccountTaxBudget, Account.code).join(Account, Account.id == AccountTaxBudget.account_id)
    ).all()
    own = _own_ytd(session, as_of, [r.account_id for r, _c in rows])
    return [
        _as_dict(row, code) | {"ytd_tax": round(own.get(row.account_id, 0.0), 2)}
        for row, code in sorted(rows, key=lambda r: r[1])
    ]


def _gains(session: Session, as_of: date, where: Any) -> list[Any]:
    return list(
        session.execute(
            select(
                Account.id,
                Account.household_id,
                Account.tax_status,
                Account.tax_jurisdiction,
                RealizedGain.base_currency,
                RealizedGain.term,
                func.sum(cast(RealizedGain.gain_base, Float)),
            )
            .join(Account, Account.id == RealizedGain.account_id)
            .where(where, RealizedGain.sold >= date(as_of.year, 1, 1), RealizedGain.sold <= as_of)
            .group_by(
                Account.id,
                Account.household_id,
                Account.tax_status,
                Account.tax_jurisdiction,
                RealizedGain.base_currency,
                RealizedGain.term,
            )
        ).all()
    )


def realized_by_term(session: Session, as_of: date, account_ids: list[int]) -> dict[int, dict[str, float]]:
    """Per account: its net realized gains this calendar year by term ("short", "long"), in its base
    currency (what the year's tax is estimated on; the Household dock shows them)."""
    out: dict[int, dict[str, float]] = {}
    for aid, _hh, _status, _juris, _base, term, gain in _gains(session, as_of, Account.id.in_(account_ids)):
        if gain is not None:
            by = out.setdefault(aid, {"short": 0.0, "long": 0.0})
            by["long" if term == "long" else "short"] += float(gain)
    return out


def _tax(status: str, juris: str, term: str, gain: float) -> float:
    rates = rates_for(juris, status)
    return gain * (rates.long_term if term == "long" else rates.short_term)


def _own_ytd(session: Session, as_of: date, account_ids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for aid, _hh, status, juris, _base, term, gain in _gains(session, as_of, Account.id.in_(account_ids)):
        if status == "taxable" and gain is not None:
            out[aid] = out.get(aid, 0.0) + _tax(status, juris, term, float(gain))
    return out


def attach_tax_year(session: Session, u: Universe, accounts: list[AccountInput]) -> None:
    """Give every taxable account its `TaxYear` from the ledger and the budget tables."""
    taxable = [a for a in accounts if a.tax_status == "taxable"]
    if not taxable:
        return
    hids = sorted({a.household_id for a in taxable})
    # The household's realized tax per base currency it was booked in, converted per account below.
    hh_tax: dict[int, list[tuple[str, float]]] = {}
    own: dict[int, float] = {}
    for aid, hh, status, juris, base, term, gain in _gains(session, u.as_of, Account.household_id.in_(hids)):
        if status != "taxable" or gain is None:
            continue
        t = _tax(status, juris, term, float(gain))
        hh_tax.setdefault(hh, []).append((base, t))
        own[aid] = own.get(aid, 0.0) + t
    groups = {
        g.household_id: g
        for g in session.scalars(select(HouseholdGroup).where(HouseholdGroup.household_id.in_(hids)))
    }
    budgets: dict[int, float] = dict(
        session.execute(
            select(AccountTaxBudget.account_id, cast(AccountTaxBudget.tax_budget, Float)).where(
                AccountTaxBudget.account_id.in_([a.id for a in taxable])
            )
        ).all()
    )
    for a in taxable:
        fx = u.fx_to[a.base]
        hh = sum(t * fx[c] for c, t in hh_tax.get(a.household_id, []))
        g = groups.get(a.household_id)
        carry = 0.0
        hh_budget = None
        if g is not None:
            carry = (
                float(g.carry_forward)
                * fx[g.reporting_currency]
                * rates_for(a.jurisdiction, a.tax_status).long_term
            )
            if g.tax_budget is not None:
                hh_budget = float(g.tax_budget) * fx[g.reporting_currency]
        budget = budgets.get(a.id)
        a.year = TaxYear(
            ytd_tax=hh - carry,
            own_ytd_tax=own.get(a.id, 0.0),
            account_budget=None if budget is None else float(budget),
            household_budget=hh_budget,
            household_ytd_tax=hh - carry,
        )
