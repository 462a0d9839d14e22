"""The "new model weights" trigger: accounts whose model or sub-model got a new version after
their last proposal are selected by --drifted, named in the drift triggers, even when in band."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.portfolio_models import versions
from engine.portfolio_models.versions import weights_of
from engine.rebalance.drift import book_drift
from engine.rebalance.run_inputs import load_run
from engine.store.accounts import Account, Model, ModelComponent
from engine.store.database import Database


@pytest.fixture
def copy_db(book_path: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


def _users_of(db: Database, model_id: int) -> set[int]:
    """Independent reference: accounts on the model or on any model containing it (transitively)."""
    with db.session() as s:
        edges = s.execute(
            select(ModelComponent.model_id, ModelComponent.sub_model_id).where(
                ModelComponent.sub_model_id.is_not(None)
            )
        ).all()
        owners = {model_id}
        grew = True
        while grew:
            grew = False
            for parent, child in edges:
                if child in owners and parent not in owners:
                    owners.add(parent)
                    grew = True
        return set(s.scalars(select(Account.id).where(Account.model_id.in_(owners))))


def test_new_model_weights_select_accounts_and_name_the_trigger(copy_db: Database) -> None:
    u, accounts = load_run(copy_db, None)
    assert not any(a.new_model_weights for a in accounts)
    before = book_drift(u, accounts)
    calm = {r["account"] for r in before.summary() if not r["triggers"]}
    assert calm, "the demo book should have accounts inside their band"
    # Pick the model of an in-band account; give it a baseline and then changed weights.
    code_of = {a.id: a.code for a in accounts}
    target = next(a for a in accounts if a.code in calm and a.model_id is not None)
    with copy_db.transaction() as s:
        model = s.get(Model, target.model_id)
        assert model is not None
        w = weights_of(s, model)
        versions.append(s, model, w, "pm1", "baseline")
        versions.append(s, model, list(reversed(w)), "pm1", "new weights")
    expected = _users_of(copy_db, target.model_id)
    assert target.id in expected

    u, accounts = load_run(copy_db, None)
    assert {a.id for a in accounts if a.new_model_weights} == expected
    bd = book_drift(u, accounts)
    rows = {r["account"]: r for r in bd.summary()}
    for aid in expected:
        assert "new model weights" in rows[code_of[aid]]["triggers"]
    assert rows[target.code]["triggers"] == ["new model weights"]  # in band: only this trigger
    drifted = set(bd.drifted())
    assert expected <= drifted
    assert target.id not in set(before.drifted())
