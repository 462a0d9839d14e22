"""Import model portfolios: each model named in the file gets exactly the components the file lists.

A row targets a security (`symbol`) or another model (`sub_model`); weights are percent and each
model's weights must add up to 100 within WEIGHT_TOLERANCE. A model may not contain itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.errors import Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind, Outcome
from engine.imports.seen import FirstSeen
from engine.portfolio_models.versions import snapshot
from engine.store.accounts import Model, ModelComponent
from engine.store.reference import Security

REQUIRED = ("model", "weight")
OPTIONAL = ("model_name", "symbol", "sub_model")
WEIGHT_TOLERANCE = Decimal("0.01")
"""Percentage points a model's weights may be off 100 (rounding in spreadsheets)."""


@dataclass
class ComponentRow:
    """One valid row: a weight (fraction) on a security id or on a sub-model code."""

    number: int
    model: str
    weight: Decimal
    security_id: int | None
    sub_model: str | None


@dataclass
class Plan:
    rows: list[ComponentRow] = field(default_factory=list)
    names: dict[str, str | None] = field(default_factory=dict)
    """Model code -> name to set (None: keep the stored name, or the code for a new model)."""


def check(session: Session, table: Table, problems: list[Problem]) -> Plan:
    """Parse every row, then check each model's weight sum, sub-model references and cycles."""
    if not (table.has("symbol") or table.has("sub_model")):
        problems.append(
            Problem(1, "symbol", "missing column 'symbol' or 'sub_model' (a model needs targets)")
        )
    stored = {m.code: m for m in session.scalars(select(Model).options(selectinload(Model.components)))}
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
            plan.rows.append(ComponentRow(cells.number, model, weight, security_id, sub_model))
    for model, cells in first_row.items():
        _check_sum(cells, model, weights[model])
    _check_sub_models(edges, set(first_row), stored)
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
    edges: list[tuple[Cells, str, str]], in_file: set[str], stored: dict[str, Model]
) -> None:
    """Every sub-model must exist (stored or in the file), and no model may reach itself."""
    code_of = {m.id: code for code, m in stored.items()}
    graph: dict[str, list[str]] = defaultdict(list)
    for code, m in stored.items():
        if code not in in_file:
            graph[code] = [code_of[c.sub_model_id] for c in m.components if c.sub_model_id is not None]
    for _, model, sub_model in edges:
        graph[model].append(sub_model)
    for cells, model, sub_model in edges:
        if sub_model not in in_file and sub_model not in stored:
            cells.problem("sub_model", f"unknown sub-model {sub_model!r}")
            continue
        path = _path(graph, sub_model, model)
        if path is not None:
            cycle = " -> ".join([model, *path])
            cells.problem(
                "sub_model", f"model {model!r} contains itself through sub_model {sub_model!r}: {cycle}"
            )


def _path(graph: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """A path of model codes from start to goal along sub-model links, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        if node in visited:
            continue
        visited.add(node)
        stack.extend((nxt, [*path, nxt]) for nxt in graph.get(node, ()))
    return None


def write(session: Session, plan: Plan) -> Counts:
    """Create or rename the models, then make each one's components exactly the file's rows."""
    stored = {m.code: m for m in session.scalars(select(Model).options(selectinload(Model.components)))}
    renamed: set[str] = set()
    for code, name in plan.names.items():
        model = stored.get(code)
        if model is None:
            stored[code] = Model(code=code, name=name or code)
            session.add(stored[code])
        elif name is not None and model.name != name:
            model.name = name
            renamed.add(code)
    session.flush()
    counts = Counts()
    by_model: dict[str, list[ComponentRow]] = defaultdict(list)
    for item in plan.rows:
        by_model[item.model].append(item)
    for code, items in by_model.items():
        model = stored[code]
        current = {_key(c.security_id, c.sub_model_id): c for c in model.components}
        outcomes: list[Outcome] = []
        for item in items:
            sub_id = stored[item.sub_model].id if item.sub_model else None
            component = current.pop(_key(item.security_id, sub_id), None)
            if component is None:
                model.components.append(
                    ModelComponent(security_id=item.security_id, sub_model_id=sub_id, weight=item.weight)
                )
                outcomes.append(Outcome.INSERTED)
            elif component.weight != item.weight:
                component.weight = item.weight
                outcomes.append(Outcome.UPDATED)
            else:
                outcomes.append(Outcome.UNCHANGED)
        for component in current.values():
            model.components.remove(component)
            counts.removed += 1
        if code in renamed and outcomes[0] is Outcome.UNCHANGED:
            outcomes[0] = Outcome.UPDATED  # the new name is the first row's change
        for outcome in outcomes:
            counts.add(outcome)
    snapshot(session, [stored[code] for code in plan.names], "import", "model import")
    return counts


def _key(security_id: int | None, sub_model_id: int | None) -> tuple[str, int]:
    return ("security", security_id) if security_id is not None else ("model", sub_model_id or 0)


KIND = Kind("models", REQUIRED, OPTIONAL, check, write)
