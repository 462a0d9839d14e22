"""Import accounts, upserted on `account`; households are created or renamed from the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.imports.upsert import upsert
from engine.model.enums import (
    SECTORS,
    ClientType,
    Domicile,
    EsgFlag,
    KycStatus,
    LotRelief,
    RiskRating,
    TaxStatus,
)
from engine.store.accounts import Account, AccountExclusion, Household, Model
from engine.store.reference import Security

REQUIRED = (
    "account",
    "name",
    "household",
    "base_currency",
    "custodian",
    "tax_status",
    "tax_jurisdiction",
    "client_type",
    "domicile",
    "kyc_status",
    "risk_rating",
    "cash_target",
    "cash_floor",
    "drift_band",
    "lot_relief",
)
OPTIONAL = (
    "household_name",
    "model",
    "kyc_review_date",
    "keep_legacy",
    "excluded_securities",
    "excluded_sectors",
    "esg_exclusions",
    "min_esg_score",
)
ENUMS = {
    "tax_status": TaxStatus,
    "client_type": ClientType,
    "domicile": Domicile,
    "kyc_status": KycStatus,
    "risk_rating": RiskRating,
    "lot_relief": LotRelief,
}


@dataclass
class AccountRow:
    """One valid row: account fields, its household code, and excluded security ids (None = keep)."""

    code: str
    household: str
    fields: dict[str, Any]
    exclusions: set[int] | None


@dataclass
class Plan:
    rows: list[AccountRow] = field(default_factory=list)
    households: dict[str, str | None] = field(default_factory=dict)
    """Household code -> name to set (None: keep the stored name)."""


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row; resolve models and excluded securities; every household must exist or be named."""
    households = {h.code: h.name for h in session.scalars(select(Household))}
    models = {m.code: m.id for m in session.scalars(select(Model))}
    securities = {k: v for k, v in session.execute(select(Security.symbol, Security.id))}
    seen = FirstSeen("account")
    plan = Plan()
    named: dict[str, tuple[str, int]] = {}
    users: list[tuple[Cells, str]] = []
    for row in table.rows:
        cells = Cells(table, row, problems)
        code = cells.required("account", parse.text(32))
        if code is not None and not seen.claim(cells, "account", code, repr(code)):
            code = None
        household = cells.required("household", parse.text(32))
        household_name = cells.optional("household_name", parse.text(200))
        if household is not None:
            users.append((cells, household))
            _name_household(cells, household, household_name, named)
        fields = _fields(cells, models)
        exclusions = _exclusions(cells, securities)
        if code is not None and household is not None:
            plan.rows.append(AccountRow(code, household, fields, exclusions))
    for cells, household in users:
        if household not in households and household not in named:
            cells.problem(
                "household",
                f"unknown household {household!r}; give household_name to create it",
            )
    for code in {h for _, h in users}:
        plan.households[code] = named[code][0] if code in named else None
    return plan


def _name_household(cells: Cells, code: str, name: str | None, named: dict[str, tuple[str, int]]) -> None:
    """Every row that names a household must give it the same name."""
    if not name:
        return
    first = named.setdefault(code, (name, cells.number))
    if first[0] != name:
        cells.problem(
            "household_name",
            f"household {code!r} is named {name!r} here but {first[0]!r} on row {first[1]}",
        )


def _fields(cells: Cells, models: dict[str, int]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    f["name"] = cells.required("name", parse.text(200))
    f["base_currency"] = cells.required("base_currency", parse.currency)
    f["custodian"] = cells.required("custodian", parse.text(64))
    f["tax_jurisdiction"] = cells.required("tax_jurisdiction", parse.country)
    for column, kind in ENUMS.items():
        value = cells.required(column, lambda v, k=kind: parse.enum_value(v, k))  # type: ignore[misc]
        f[column] = value.value if value is not None else None
    f["cash_target"] = target = cells.required("cash_target", parse.percent)
    f["cash_floor"] = floor = cells.required("cash_floor", parse.percent)
    f["drift_band"] = cells.required("drift_band", parse.percent)
    if target is not None and floor is not None and floor > target:
        cells.problem(
            "cash_floor",
            f"cash_floor {cells.text('cash_floor')!r} is above cash_target {cells.text('cash_target')!r}",
        )
    if cells.table.has("model"):
        code = cells.optional("model", parse.text(32))
        if code and code not in models:
            cells.problem("model", f"unknown model {code!r}")
        f["model_id"] = models.get(code) if code else None
    cells.put(f, "kyc_review_date", parse.iso_date)
    cells.put(f, "keep_legacy", parse.boolean, default=False)
    cells.put(f, "excluded_sectors", lambda v: parse.choice_items(v, SECTORS), default=[])
    cells.put(f, "esg_exclusions", lambda v: parse.enum_items(v, EsgFlag), default=[])
    cells.put(f, "min_esg_score", parse.score)
    return f


def _exclusions(cells: Cells, securities: dict[str, int]) -> set[int] | None:
    if not cells.table.has("excluded_securities"):
        return None
    symbols = cells.optional("excluded_securities", parse.items) or []
    unknown = [s for s in symbols if s not in securities]
    if unknown:
        listed = ", ".join(repr(s) for s in unknown)
        cells.problem(
            "excluded_securities", f"unknown {'security' if len(unknown) == 1 else 'securities'} {listed}"
        )
    return {securities[s] for s in symbols if s in securities}


def write(session: Session, plan: Plan) -> Counts:
    """Upsert households, then accounts with their exclusion lists."""
    households = {h.code: h for h in session.scalars(select(Household))}
    changed: set[str] = set()
    for code, name in plan.households.items():
        if code not in households:
            households[code] = Household(code=code, name=name)
            session.add(households[code])
            changed.add(code)
        elif name is not None and households[code].name != name:
            households[code].name = name
            changed.add(code)
    session.flush()
    stored = {a.code: a for a in session.scalars(select(Account).options(selectinload(Account.exclusions)))}
    counts = Counts()
    for item in plan.rows:
        fields = {"code": item.code, "household_id": households[item.household].id, **item.fields}
        account, outcome = upsert(session, stored.get(item.code), Account, fields)
        if item.exclusions is not None and _set_exclusions(account, item.exclusions):
            outcome = Outcome.INSERTED if outcome is Outcome.INSERTED else Outcome.UPDATED
        if item.household in changed and outcome is Outcome.UNCHANGED:
            outcome = Outcome.UPDATED  # the row created or renamed its household
        counts.add(outcome)
    return counts


def _set_exclusions(account: Account, wanted: set[int]) -> bool:
    """Make the account's excluded securities exactly `wanted`; True if anything changed."""
    current = {e.security_id for e in account.exclusions} if account.id is not None else set()
    if current == wanted:
        return False
    account.exclusions = [e for e in account.exclusions if e.security_id in wanted] + [
        AccountExclusion(security_id=s) for s in sorted(wanted - current)
    ]
    return True


KIND = Kind("accounts", REQUIRED, OPTIONAL, check, write)
