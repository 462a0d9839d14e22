"""Model target weights per security, looking through sub-models (a model of models).

A component on a sub-model contributes weight x the sub-model's own (looked-through) weights.
Cycles are refused rather than looped forever.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.errors import ConfigurationError
from engine.store.accounts import ModelComponent


def flatten(components: dict[int, list[tuple[int | None, int | None, float]]]) -> dict[int, dict[int, float]]:
    """model id -> {security id: weight}, sub-models expanded recursively."""
    done: dict[int, dict[int, float]] = {}

    def expand(model_id: int, path: tuple[int, ...]) -> dict[int, float]:
        if model_id in done:
            return done[model_id]
        if model_id in path:
            raise ConfigurationError(f"model {model_id} contains itself through sub-models {path}")
        out: dict[int, float] = defaultdict(float)
        for security_id, sub_model_id, weight in components.get(model_id, []):
            if security_id is not None:
                out[security_id] += weight
            elif sub_model_id is not None:
                for sid, w in expand(sub_model_id, (*path, model_id)).items():
                    out[sid] += weight * w
        done[model_id] = dict(out)
        return done[model_id]

    for mid in components:
        expand(mid, ())
    return done


def model_targets(session: Session) -> pd.DataFrame:
    """Rows (model_id, security_id, weight): every model's looked-through security weights."""
    rows = session.execute(
        select(
            ModelComponent.model_id,
            ModelComponent.security_id,
            ModelComponent.sub_model_id,
            cast(ModelComponent.weight, Float),
        )
    ).all()
    comps: dict[int, list[tuple[int | None, int | None, float]]] = defaultdict(list)
    for model_id, security_id, sub_model_id, weight in rows:
        comps[model_id].append((security_id, sub_model_id, float(weight)))
    flat = flatten(dict(comps))
    records = [(m, s, w) for m, weights in flat.items() for s, w in weights.items()]
    return pd.DataFrame(records, columns=["model_id", "security_id", "weight"])
