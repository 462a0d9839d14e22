"""accounts_with_new_model_weights: model or sub-model versions newer than the last proposal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from engine.portfolio_models.service import WeightRow, set_weights
from engine.rebalance.model_triggers import accounts_with_new_model_weights
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database


def _w(**weights: str) -> list[WeightRow]:
    return [WeightRow(i + 1, Decimal(w), symbol=s) for i, (s, w) in enumerate(weights.items())]


def _ids(db: Database) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(Account.code, Account.id)).all())


def _propose(db: Database, *codes: str) -> None:
    ids = _ids(db)
    with db.transaction() as s:
        for code in codes:
            s.add(
                Proposal(
                    batch_id="B", account_id=ids[code], mode="rebalance", status="draft",
                    created_by="pm1", created_at=datetime.now(UTC), payload={},
                )
            )  # fmt: skip


def _triggered(db: Database) -> set[str]:
    ids = {v: k for k, v in _ids(db).items()}
    with db.session() as s:
        return {ids[i] for i in accounts_with_new_model_weights(s)}


def test_new_weights_trigger_after_the_last_proposal(book_db: Database) -> None:
    # U1 and U2 follow M1 (no components yet); G1 has no model.
    assert _triggered(book_db) == set()
    with book_db.transaction() as s:
        assert set_weights(s, "pm1", "M1", _w(AAA="0.6", CCC="0.4")).version == 1
    # First weights are the baseline: nobody was rebalanced against anything else yet.
    assert _triggered(book_db) == set()
    _propose(book_db, "U1")
    assert _triggered(book_db) == set()
    with book_db.transaction() as s:
        assert set_weights(s, "pm1", "M1", _w(AAA="0.5", CCC="0.5")).version == 2
    # U1's proposal predates version 2; U2 was never rebalanced and M1 changed since its baseline.
    assert _triggered(book_db) == {"U1", "U2"}
    _propose(book_db, "U1", "U2")
    assert _triggered(book_db) == set()


def test_a_sub_model_change_triggers_accounts_of_every_parent(book_db: Database) -> None:
    with book_db.transaction() as s:
        set_weights(s, "pm1", "SUB", _w(AAA="0.5", AAB="0.5"))
        set_weights(s, "pm1", "MID", [WeightRow(1, Decimal(1), sub_model="SUB")])
        set_weights(
            s, "pm1", "M1",
            [WeightRow(1, Decimal("0.7"), sub_model="MID"), WeightRow(2, Decimal("0.3"), symbol="CCC")],
        )  # fmt: skip
    _propose(book_db, "U1", "U2")
    assert _triggered(book_db) == set()
    with book_db.transaction() as s:
        # Same weights again: no new version, no trigger.
        assert not set_weights(s, "pm1", "SUB", _w(AAA="0.5", AAB="0.5")).changed
    assert _triggered(book_db) == set()
    with book_db.transaction() as s:
        assert set_weights(s, "pm1", "SUB", _w(AAA="0.4", AAB="0.6")).version == 2
    # SUB is two levels below M1 (M1 -> MID -> SUB).
    assert _triggered(book_db) == {"U1", "U2"}
