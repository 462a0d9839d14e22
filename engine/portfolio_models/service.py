"""Edit a model's weights: permission-checked (models.edit), validated, audited, versioned.

A trader cannot change a model: `set_weights` needs `models.edit` (portfolio managers and
admins); a refusal raises PermissionDenied and is audited. Bad input raises
ImportValidationError naming the row, column and reason, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import ImportValidationError, NotFound, Problem
from engine.portfolio_models import versions
from engine.portfolio_models.graph import cycle_through, stored_graph
from engine.portfolio_models.tables import ModelVersion
from engine.store.accounts import Model, ModelComponent
from engine.store.reference import Security

WEIGHT_TOLERANCE = Decimal("0.0001")
"""How far a model's weights (fractions) may sum away from 1."""


@dataclass(frozen=True)
class WeightRow:
    """One target of the new weights: a security symbol or a sub-model code, and a fraction."""

    row: int
    weight: Decimal
    symbol: str | None = None
    sub_model: str | None = None


@dataclass(frozen=True)
class SetResult:
    """What `set_weights` did: the version now in force, and whether it is a new one."""

    code: str
    version: int
    changed: bool
    created: bool


def get_model(session: Session, code: str) -> Model:
    """The model with `code`, or NotFound."""
    model = session.scalars(
        select(Model).where(Model.code == code).options(selectinload(Model.components))
    ).one_or_none()
    if model is None:
        raise NotFound(f"unknown model {code!r}")
    return model


def show(session: Session, code: str) -> dict[str, Any]:
    """The model's current weights and version, as plain data (`model show --json`)."""
    model = get_model(session, code)
    top = versions.latest(session, model.id)
    return {
        "code": model.code,
        "name": model.name,
        "version": top.version if top else None,
        "weights": versions.weights_of(session, model),
    }


def history(session: Session, code: str) -> list[dict[str, Any]]:
    """Every version of the model, oldest first (`model history --json`)."""
    model = get_model(session, code)
    return [as_dict(v) for v in versions.history(session, model.id)]


def as_dict(v: ModelVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "weights": v.weights,
        "created_by": v.created_by,
        "created_at": v.created_at.isoformat(),
        "note": v.note,
    }


def set_weights(
    session: Session,
    username: str,
    code: str,
    rows: list[WeightRow],
    note: str = "",
    name: str | None = None,
    source: str | None = None,
    *,
    enforce_permission: bool = True,
) -> SetResult:
    """Make `rows` the model's weights (creating the model if new) and append a version.

    Checks: the user has models.edit; every row targets exactly one known security or model;
    no target twice; each weight above 0 and at most 1; weights sum to 1 within
    WEIGHT_TOLERANCE; no model contains itself through sub-models. Unchanged weights append
    nothing. The change and its before/after are audited in the caller's transaction.
    `enforce_permission=False` is only for writers that act for nobody: the models import into
    a book that has no users yet (engine.imports.access), audited as `import`.
    """
    if enforce_permission:
        require(session, username, Permission.MODELS_EDIT)
    problems = _validate(session, code, rows)
    if problems:
        raise ImportValidationError(source or f"model {code}", problems)
    model = session.scalars(
        select(Model).where(Model.code == code).options(selectinload(Model.components))
    ).one_or_none()
    created = model is None
    if model is None:
        model = Model(code=code, name=name or code)
        session.add(model)
        session.flush()
    elif name and name != model.name:
        record(session, username, "model.rename", "model", code, {"name": model.name}, {"name": name})
        model.name = name
    before = [] if created else versions.weights_of(session, model)
    top = versions.latest(session, model.id)
    if top is None and before:
        top = versions.append(session, model, before, "system", "baseline: weights before versioning")
    new = _apply(session, model, rows)
    if top is not None and new == top.weights:
        return SetResult(code, top.version, changed=False, created=False)
    version = versions.append(session, model, new, username, note)
    record(
        session,
        username,
        "model.set",
        "model",
        code,
        before={"version": top.version if top else None, "weights": before},
        after={"version": version.version, "weights": new},
        reason=note or None,
    )
    return SetResult(code, version.version, changed=True, created=created)


def _apply(session: Session, model: Model, rows: list[WeightRow]) -> list[dict[str, Any]]:
    """Make the model's components exactly `rows`; returns the resulting weights as data."""
    sec_ids = _ids(session, Security.symbol, Security.id, [r.symbol for r in rows if r.symbol])
    sub_ids = _ids(session, Model.code, Model.id, [r.sub_model for r in rows if r.sub_model])
    current = {(c.security_id, c.sub_model_id): c for c in model.components}
    for r in rows:
        key = (sec_ids[r.symbol], None) if r.symbol else (None, sub_ids[r.sub_model])
        component = current.pop(key, None)
        if component is None:
            model.components.append(ModelComponent(security_id=key[0], sub_model_id=key[1], weight=r.weight))
        elif component.weight != r.weight:
            component.weight = r.weight
    for component in current.values():
        model.components.remove(component)
    session.flush()
    out: list[dict[str, Any]] = []
    for r in rows:
        target = {"symbol": r.symbol} if r.symbol else {"sub_model": r.sub_model}
        out.append({**target, "weight": versions.weight_text(r.weight)})
    return versions.sort_weights(out)


def _ids(session: Session, key_col: Any, id_col: Any, keys: list[Any]) -> dict[Any, int]:
    return dict(session.execute(select(key_col, id_col).where(key_col.in_(keys))).all()) if keys else {}


def _validate(session: Session, code: str, rows: list[WeightRow]) -> list[Problem]:
    """Every problem with `rows` as the weights of model `code` (empty list: all good)."""
    problems: list[Problem] = []
    if not rows:
        return [Problem(1, "weight", f"model {code!r} needs at least one weight")]
    known_symbols = set(_ids(session, Security.symbol, Security.id, [r.symbol for r in rows if r.symbol]))
    known_models = set(_ids(session, Model.code, Model.id, [r.sub_model for r in rows if r.sub_model]))
    seen: dict[tuple[str, str], int] = {}
    total = Decimal(0)
    for r in rows:
        if bool(r.symbol) == bool(r.sub_model):
            problems.append(Problem(r.row, "symbol", "give exactly one of symbol and sub_model"))
            continue
        column, target = ("symbol", r.symbol) if r.symbol else ("sub_model", r.sub_model)
        assert target is not None
        first = seen.setdefault((column, target), r.row)
        if first != r.row:
            problems.append(Problem(r.row, column, f"{target!r} is listed twice (first on row {first})"))
        if column == "symbol" and target not in known_symbols:
            problems.append(Problem(r.row, "symbol", f"unknown security {target!r}"))
        if column == "sub_model":
            if target == code:
                problems.append(Problem(r.row, "sub_model", f"model {code!r} cannot contain itself"))
            elif target not in known_models:
                problems.append(Problem(r.row, "sub_model", f"unknown sub-model {target!r}"))
        if not Decimal(0) < r.weight <= Decimal(1):
            problems.append(Problem(r.row, "weight", f"weight {r.weight} must be above 0 and at most 1"))
        total += r.weight
    if abs(total - 1) > WEIGHT_TOLERANCE:
        problems.append(
            Problem(
                rows[-1].row,
                "weight",
                f"weights of model {code!r} sum to {total.normalize():f}; "
                f"they must sum to 1 within ±{WEIGHT_TOLERANCE}",
            )
        )
    cycle = _cycle(session, code, [r.sub_model for r in rows if r.sub_model and r.sub_model != code])
    if cycle:
        problems.append(
            Problem(rows[0].row, "sub_model", f"model {code!r} would contain itself: {' -> '.join(cycle)}")
        )
    return problems


def _cycle(session: Session, code: str, subs: list[str]) -> list[str] | None:
    """A path code -> ... -> code through sub-models if `subs` became code's sub-models."""
    graph = stored_graph(session)
    graph[code] = list(subs)
    return cycle_through(graph, code, subs)
