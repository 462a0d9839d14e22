"""Import securities, upserted on `symbol`: reference data, identifiers, ADR links, restrictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.imports.upsert import assign, upsert
from engine.model.enums import SECTORS, AssetClass, ClientType, Domicile, EsgFlag
from engine.store.reference import Exchange, Security

REQUIRED = ("symbol", "name", "asset_class", "currency", "mic", "country", "sector")
OPTIONAL = (
    "industry",
    "issuer",
    "isin",
    "cusip",
    "sedol",
    "local_ticker",
    "lot_size",
    "price_multiplier",
    "esg_score",
    "esg_flags",
    "adr_ordinary",
    "adr_ratio",
    "adr_sponsored",
    "allowed_client_types",
    "allowed_domiciles",
    "coupon",
    "maturity",
)
IDENTIFIERS = ("isin", "cusip", "sedol")


@dataclass
class SecurityRow:
    """One valid row: the fields to store, and the ADR's ordinary symbol (resolved after flush)."""

    number: int
    symbol: str
    fields: dict[str, Any]
    ordinary: str | None = None
    has_ordinary: bool = False


@dataclass
class Plan:
    rows: list[SecurityRow] = field(default_factory=list)


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row, then check ADR links and identifier uniqueness across file and store."""
    stored = {s.symbol: s for s in session.scalars(select(Security))}
    mics = set(session.scalars(select(Exchange.mic)))
    seen = FirstSeen("symbol")
    plan = Plan()
    parsed: list[tuple[Cells, SecurityRow]] = []
    for row in table.rows:
        cells = Cells(table, row, problems)
        symbol = cells.required("symbol", parse.text(32))
        if symbol is not None and not seen.claim(cells, "symbol", symbol, repr(symbol)):
            symbol = None
        item = _fields(cells, stored.get(symbol or ""), mics)
        if symbol is not None:
            item.symbol = symbol
            parsed.append((cells, item))
    classes = {item.symbol: item.fields.get("asset_class") for _, item in parsed}
    for cells, item in parsed:
        _check_adr(cells, item, stored, set(classes), classes)
    _check_identifiers(parsed, stored)
    plan.rows = [item for cells, item in parsed if cells.ok]
    return plan


def _fields(cells: Cells, existing: Security | None, mics: set[str]) -> SecurityRow:
    f: dict[str, Any] = {}
    f["name"] = name = cells.required("name", parse.text(200))
    asset_class = cells.required("asset_class", lambda v: parse.enum_value(v, AssetClass))
    f["asset_class"] = asset_class.value if asset_class else None
    f["currency"] = cells.required("currency", parse.currency)
    f["mic"] = mic = cells.required("mic", parse.text(4))
    if mic is not None and mic not in mics:
        cells.problem("mic", f"unknown exchange MIC {mic!r}")
    f["country"] = cells.required("country", parse.country)
    f["sector"] = cells.required("sector", lambda v: parse.choice(v, SECTORS))
    cells.put(f, "industry", parse.text(120))
    issuer = cells.optional("issuer", parse.text(200))
    if issuer:
        f["issuer"] = issuer
    elif cells.table.has("issuer") or existing is None:
        f["issuer"] = name
    cells.put(f, "isin", parse.isin)
    cells.put(f, "cusip", parse.cusip)
    cells.put(f, "sedol", parse.sedol)
    cells.put(f, "local_ticker", parse.text(24))
    cells.put(f, "lot_size", parse.positive_integer, default=1)
    cells.put(f, "price_multiplier", parse.positive, default=Decimal(1))
    cells.put(f, "esg_score", parse.score)
    cells.put(f, "esg_flags", lambda v: parse.enum_items(v, EsgFlag), default=[])
    cells.put(f, "adr_ratio", parse.positive)
    cells.put(f, "adr_sponsored", parse.boolean)
    cells.put(
        f,
        "allowed_client_types",
        lambda v: parse.enum_items(v, ClientType),
        default=[],
        attr="restricted_client_types",
    )
    cells.put(
        f,
        "allowed_domiciles",
        lambda v: parse.enum_items(v, Domicile),
        default=[],
        attr="restricted_domiciles",
    )
    cells.put(f, "coupon", parse.percent)
    cells.put(f, "maturity", parse.iso_date)
    item = SecurityRow(cells.number, "", f)
    if cells.table.has("adr_ordinary"):
        item.has_ordinary = True
        item.ordinary = cells.optional("adr_ordinary", parse.text(32)) or None
    return item


def _check_adr(
    cells: Cells,
    item: SecurityRow,
    stored: dict[str, Security],
    in_file: set[str],
    classes: dict[str, Any],
) -> None:
    """An ADR needs a ratio; its ordinary, when named, must be another known non-ADR security."""
    existing = stored.get(item.symbol)
    asset_class = item.fields.get("asset_class")
    ratio = item.fields["adr_ratio"] if "adr_ratio" in item.fields else getattr(existing, "adr_ratio", None)
    if asset_class == AssetClass.ADR and ratio is None and not cells.text("adr_ratio"):
        cells.problem("adr_ratio", f"ADR {item.symbol!r} has no adr_ratio (ordinary shares per ADR)")
    if asset_class not in (None, AssetClass.ADR):
        for column in ("adr_ordinary", "adr_ratio"):
            if cells.text(column):
                cells.problem(
                    column, f"{column} {cells.text(column)!r} is only for asset_class adr, not {asset_class}"
                )
    ordinary = item.ordinary
    if ordinary is None:
        return
    if ordinary == item.symbol:
        cells.problem("adr_ordinary", f"ADR {item.symbol!r} cannot be its own ordinary")
    elif ordinary not in in_file and ordinary not in stored:
        cells.problem("adr_ordinary", f"unknown ordinary security {ordinary!r} for ADR {item.symbol!r}")
    else:
        ordinary_class = classes.get(ordinary) or getattr(stored.get(ordinary), "asset_class", None)
        if ordinary_class == AssetClass.ADR:
            cells.problem("adr_ordinary", f"ordinary {ordinary!r} of ADR {item.symbol!r} is itself an ADR")


def _check_identifiers(parsed: list[tuple[Cells, SecurityRow]], stored: dict[str, Security]) -> None:
    """Each ISIN, CUSIP and SEDOL may belong to one security once the file is applied."""
    by_symbol = {item.symbol: item for _, item in parsed}
    for column in IDENTIFIERS:
        owners: dict[str, str] = {}
        for symbol, security in stored.items():
            value = getattr(security, column)
            item = by_symbol.get(symbol)
            if value and (item is None or column not in item.fields):
                owners[value] = symbol
        first_row: dict[str, tuple[str, int]] = {}
        for cells, item in parsed:
            value = item.fields.get(column)
            if not value:
                continue
            owner = owners.get(value)
            if owner is not None and owner != item.symbol:
                cells.problem(column, f"{column} {value!r} is already used by security {owner!r}")
            elif value in first_row:
                other, number = first_row[value]
                cells.problem(column, f"{column} {value!r} is already used by {other!r} on row {number}")
            else:
                first_row[value] = (item.symbol, cells.number)


def write(session: Session, plan: Plan) -> Counts:
    """Upsert every row, then link ADRs to their ordinaries (which may be new in this file)."""
    stored = {s.symbol: s for s in session.scalars(select(Security))}
    released = _release_identifiers(session, plan, stored)
    outcomes: list[tuple[SecurityRow, Security, Outcome]] = []
    for item in plan.rows:
        security, outcome = upsert(
            session, stored.get(item.symbol), Security, {"symbol": item.symbol, **item.fields}
        )
        stored[item.symbol] = security
        outcomes.append((item, security, outcome))
    session.flush()
    counts = Counts()
    for item, security, outcome in outcomes:
        if item.has_ordinary:
            target = stored[item.ordinary].id if item.ordinary else None
            if assign(security, {"adr_ordinary_id": target}) and outcome is Outcome.UNCHANGED:
                outcome = Outcome.UPDATED
        if item.symbol in released and outcome is Outcome.UNCHANGED:
            outcome = Outcome.UPDATED
        counts.add(outcome)
    return counts


def _release_identifiers(session: Session, plan: Plan, stored: dict[str, Security]) -> set[str]:
    """Clear identifiers that change first, so one can move between securities in the same file.

    Returns the symbols whose identifiers changed.
    """
    released: set[str] = set()
    for item in plan.rows:
        security = stored.get(item.symbol)
        for column in IDENTIFIERS:
            if (
                security is not None
                and column in item.fields
                and getattr(security, column) != item.fields[column]
            ):
                setattr(security, column, None)
                released.add(item.symbol)
    if released:
        session.flush()
    return released


KIND = Kind("securities", REQUIRED, OPTIONAL, check, write)
