"""Import model portfolios: each model named in the file gets exactly the components the file lists.

A row targets a security (`symbol`) or another model (`sub_model`); weights are percent (above 0)
and each model's weights must add up to 100 within WEIGHT_TOLERANCE. A model may not contain
itself. The whole file is checked here; the writes go through the model service
(engine.portfolio_models.service.set_weights: permission-checked, versioned, audited).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.errors import Problem
from engine.imports import parse
from engine.imports.access import NOBODY, Actor
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.portfolio_models.graph import Graph, cycle_through, stored_graph, write_order
from engine.portfolio_models.service import WeightRow, set_weights
from engine.store.accounts import Model
from engine.store.reference import Security

REQUIRED = ("model", "weight")
OPTIONAL = ("model_name", "symbol", "sub_model")
WEIGHT_TOLERANCE = Decimal("0.01")
"""Percentage points a model's weights may be off 100 (rounding in spreadsheets)."""


@dataclass
class ComponentRow:
    """One valid row: a weight (fraction) on a security (id and symbol) or on a sub-model code."""

    number: int
    model: str
    weight: Decimal
    security_id: int | None
    sub_model: str | None
    symbol: str | None = None


@dataclass
class Plan:
    rows: list[ComponentRow] = field(default_factory=list)
    names: dict[str, str | None] = field(default_factory=dict)
    """Model code -> name to set (None: keep the stored name, or the code for a new model)."""
    source: str = "models.csv"


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row, then check each model's weight sum, sub-model references and cycles."""
    if not (table.has("symbol") or table.has("sub_model")):
        problems.append(
            Problem(1, "symbol", "missing column 'symbol' or 'sub_model' (a model needs targets)")
        )
    stored = set(session.scalars(select(Model.code)))
    securities = {k: v for k, v in session.execute(select(Security.symbol, Security.id))}
    seen = FirstSeen("component")
    plan = Plan()
    first_row: dict[str, Cells] = {}
    weights: dict[str, list[Decimal | None]] = defaultdict(list)
    names: dict[str, tuple[str, int]] = {}
    edges: list[tuple[Cells, str, str]] = []
    for row in table.rows:
        cells = Cells(table, row, problems)
        model = cells.required("model", parse.text(32))
        name = cells.optional("model_name", parse.text(200))
        symbol = cells.optional("symbol", parse.text(32))
        sub_model = cells.optional("sub_model", parse.text(32))
        weight = cells.required("weight", parse.percent)
        security_id = _target(cells, symbol, sub_model, securities)
        if model is None:
            continue
        first_row.setdefault(model, cells)
        weights[model].append(weight)
        if name:
            _name_model(cells, model, name, names)
        if symbol and sub_model:
            continue
        if symbol:
            seen.claim(cells, "symbol", (model, "symbol", symbol), f"{symbol!r} in model {model!r}")
        elif sub_model:
            seen.claim(
                cells, "sub_model", (model, "sub_model", sub_model), f"{sub_model!r} in model {model!r}"
            )
            edges.append((cells, model, sub_model))
        if weight is not None and (security_id is not None or sub_model):
            if weight == 0 and cells.ok:
                cells.problem(
                    "weight", "weight 0: a model component needs a weight above 0 (leave the row out)"
                )
                continue
            plan.rows.append(ComponentRow(cells.number, model, weight, security_id, sub_model, symbol))
    for model, cells in first_row.items():
        _check_sum(cells, model, weights[model])
    _check_sub_models(session, edges, set(first_row), stored)
    plan.source = table.source
    plan.names = {m: names[m][0] if m in names else None for m in first_row}
    return plan


def _target(
    cells: Cells, symbol: str | None, sub_model: str | None, securities: dict[str, int]
) -> int | None:
    """Exactly one of symbol and sub_model; a symbol must be a known security."""
    if symbol and sub_model:
        cells.problem("sub_model", f"give symbol {symbol!r} or sub_model {sub_model!r}, not both")
        return None
    if not symbol and not sub_model:
        if cells.table.has("symbol") or cells.table.has("sub_model"):
            cells.problem("symbol", "missing value: give a symbol or a sub_model")
        return None
    if symbol and symbol not in securities:
        cells.problem("symbol", f"unknown security {symbol!r}")
    return securities.get(symbol) if symbol else None


def _name_model(cells: Cells, model: str, name: str, names: dict[str, tuple[str, int]]) -> None:
    first = names.setdefault(model, (name, cells.number))
    if first[0] != name:
        cells.problem(
            "model_name", f"model {model!r} is named {name!r} here but {first[0]!r} on row {first[1]}"
        )


def _check_sum(cells: Cells, model: str, weights: list[Decimal | None]) -> None:
    """Weights (fractions here) must add up to 100 percent within the tolerance."""
    if any(w is None for w in weights):
        return  # a bad weight was already reported
    total = sum((w for w in weights if w is not None), Decimal(0)) * 100
    if abs(total - 100) > WEIGHT_TOLERANCE:
        cells.problem(
            "weight",
            f"weights of model {model!r} sum to {total.normalize():f} percent; "
            f"they must sum to 100 within ±{WEIGHT_TOLERANCE}",
        )


def _check_sub_models(
    session: Session, edges: list[tuple[Cells, str, str]], in_file: set[str], stored: set[str]
) -> None:
    """Every sub-model must exist (stored or in the file), and no model may reach itself."""
    graph = _final_graph(session, edges, in_file)
    for cells, model, sub_model in edges:
        if sub_model not in in_file and sub_model not in stored:
            cells.problem("sub_model", f"unknown sub-model {sub_model!r}")
            continue
        cycle = cycle_through(graph, model, [sub_model])
        if cycle is not None:
            cells.problem(
                "sub_model",
                f"model {model!r} contains itself through sub_model {sub_model!r}: {' -> '.join(cycle)}",
            )


def _final_graph(session: Session, edges: list[tuple[Cells, str, str]], in_file: set[str]) -> Graph:
    """The sub-model links once the file is written: the file's models get exactly its links."""
    graph = stored_graph(session)
    for code in in_file:
        graph[code] = []
    for _, model, sub_model in edges:
        graph[model].append(sub_model)
    return graph


def write_as(session: Session, plan: Plan, actor: Actor) -> Counts:
    """Give each model in the file exactly its rows, through the model service (one version each).

    Models are written after the file's models they contain, so each service call sees its
    sub-models. Counts compare the file's rows with the components stored before the write.
    """
    by_model: dict[str, list[ComponentRow]] = defaultdict(list)
    for item in plan.rows:
        by_model[item.model].append(item)
    graph: Graph = {code: [i.sub_model for i in items if i.sub_model] for code, items in by_model.items()}
    counts = Counts()
    for code in write_order(graph, list(plan.names)):
        items = by_model.get(code, [])
        _count(session, code, items, plan.names[code], counts)
        rows = [WeightRow(i.number, i.weight, symbol=i.symbol, sub_model=i.sub_model) for i in items]
        set_weights(
            session,
            actor.username,
            code,
            rows,
            note=f"import {plan.source}",
            name=plan.names[code],
            source=plan.source,
            enforce_permission=actor.checked,
        )
    return counts


def write(session: Session, plan: Plan) -> Counts:
    """`write_as` for a book without users (kept for callers of the Kind protocol)."""
    return write_as(session, plan, Actor(NOBODY, checked=False))


def _count(session: Session, code: str, items: list[ComponentRow], name: str | None, counts: Counts) -> None:
    """Add what the file's rows do to the model's stored components: inserted, updated, unchanged, removed."""
    model = session.scalars(
        select(Model).where(Model.code == code).options(selectinload(Model.components))
    ).one_or_none()
    if model is None:
        for _ in items:
            counts.add(Outcome.INSERTED)
        return
    sub_ids = dict(session.execute(select(Model.code, Model.id)).all())
    current = {_key(c.security_id, c.sub_model_id): c.weight for c in model.components}
    outcomes: list[Outcome] = []
    for item in items:
        key = _key(item.security_id, sub_ids.get(item.sub_model) if item.sub_model else None)
        if key not in current:
            outcomes.append(Outcome.INSERTED)
        elif current.pop(key) != item.weight:
            outcomes.append(Outcome.UPDATED)
        else:
            outcomes.append(Outcome.UNCHANGED)
    counts.removed += len(current)
    if name is not None and name != model.name and outcomes and outcomes[0] is Outcome.UNCHANGED:
        outcomes[0] = Outcome.UPDATED  # the new name is the first row's change
    for outcome in outcomes:
        counts.add(outcome)


def _key(security_id: int | None, sub_model_id: int | None) -> tuple[str, int]:
    return ("security", security_id) if security_id is not None else ("model", sub_model_id or 0)


KIND = Kind("models", REQUIRED, OPTIONAL, check, write, write_as=write_as)
