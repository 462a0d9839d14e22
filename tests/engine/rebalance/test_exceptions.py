"""The exception queue on both backends: a proposal over a limit (turnover above 20% on an
account above the limit's value) cannot be accepted until a PM other than its creator signs it
off; a trader is refused (audited), the creator is refused (four eyes), a denial keeps it
blocked, a proposal under the limits is accepted as before, and a bad limits file is refused
naming row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

import resources
from engine.access.users import create_user
from engine.demo.build import build_demo_book
from engine.errors import ImportValidationError, InvalidTransition, PermissionDenied, WorkstationError
from engine.rebalance import exceptions as exc
from engine.rebalance.review import review
from engine.rebalance.tables import Proposal
from engine.rebalance.transition_tables import ProposalException
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry


def payload(value: float, turnover: float, base: str = "USD") -> dict[str, object]:
    return {"status": "ok", "base_currency": base, "value_base": value, "turnover": turnover,
            "trades": [{"symbol": "X", "side": "buy", "quantity": 1.0}]}  # fmt: skip


@pytest.fixture
def queue_book(database: Database) -> tuple[Database, dict[str, int]]:
    build_demo_book(database, resources.path("reference"), accounts=2, seed=3, today=date(2026, 11, 22))
    with database.transaction() as s:
        create_user(s, "ada.admin", "pia.pm", "Pia (second PM)", "portfolio_manager", None)
        aid = s.scalars(select(Account.id).order_by(Account.id)).first()
        rows = {
            "over": Proposal(
                batch_id="b1",
                account_id=aid,
                mode="full",
                status="ok",
                created_by="pat.pm",
                payload=payload(12_000_000.0, 0.25),
            ),
            "denied": Proposal(
                batch_id="b1",
                account_id=aid,
                mode="full",
                status="ok",
                created_by="pat.pm",
                payload=payload(30_000_000.0, 0.40),
            ),
            "small": Proposal(
                batch_id="b1",
                account_id=aid,
                mode="full",
                status="ok",
                created_by="pat.pm",
                payload=payload(9_000_000.0, 0.90),
            ),
            "calm": Proposal(
                batch_id="b1",
                account_id=aid,
                mode="full",
                status="ok",
                created_by="pat.pm",
                payload=payload(50_000_000.0, 0.20),
            ),
        }
        s.add_all(rows.values())
        s.flush()
        exc.queue_batch(s, "b1", "pat.pm")
        return database, {k: v.id for k, v in rows.items()}


def test_limits_as_data() -> None:
    limits = exc.load_limits()
    usd = exc.limits_for("USD", limits)
    jpy = exc.limits_for("JPY", limits)
    assert [(x.code, x.min_value, x.max_turnover) for x in usd] == [("large-turnover", 10_000_000.0, 0.20)]
    assert [(x.currency, x.min_value) for x in jpy] == [("JPY", 1_500_000_000.0)]  # its own row replaces *
    # 12M USD at 25% crosses; 9M at 90% does not (value); 50M at exactly 20% does not (turnover).
    assert [c for c, _, _ in exc.breaches(payload(12e6, 0.25))] == ["large-turnover"]
    assert exc.breaches(payload(9e6, 0.9)) == [] and exc.breaches(payload(50e6, 0.2)) == []
    assert exc.breaches(payload(12e6, 0.25, "JPY")) == []  # 12M yen is a small account


def test_a_bad_limits_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "limits.csv"
    bad.write_text("code,currency,min_value,max_turnover\nbig,US,1e7,0.2\nbig,*,lots,0.2\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        exc.load_limits(bad)
    lines = e.value.lines()
    assert any("row 2, column currency" in x for x in lines) and any(
        "row 3, column min_value" in x for x in lines
    )


def test_sign_off_before_accept(queue_book: tuple[Database, dict[str, int]]) -> None:
    database, ids = queue_book
    with database.session() as s:
        queued = {e["proposal"]: e for e in exc.list_exceptions(s)}
    assert set(queued) == {ids["over"], ids["denied"]}
    assert queued[ids["over"]]["detail"] == (
        "turnover 25.00% above 20% on an account of 12,000,000 USD (above 10,000,000)"
    )
    over = queued[ids["over"]]["id"]
    denied = queued[ids["denied"]]["id"]

    with pytest.raises(exc.ExceptionPending, match="needs a PM's sign-off"), database.transaction() as s:
        review(s, "pat.pm", ids["over"], "accept")
    with pytest.raises(PermissionDenied), database.transaction() as s:
        exc.decide(s, "tara.trader", over, "sign_off", "looks fine")
    with pytest.raises(WorkstationError, match="four eyes"), database.transaction() as s:
        exc.decide(s, "pat.pm", over, "sign_off", "my own")
    with pytest.raises(WorkstationError, match="needs a reason"), database.transaction() as s:
        exc.decide(s, "pia.pm", over, "sign_off", " ")
    with database.session() as s:
        assert s.get(ProposalException, over).status == "open"  # type: ignore[union-attr]
        denials = s.scalars(select(AuditEntry.username).where(AuditEntry.action == "permission.denied"))
        assert "tara.trader" in list(denials)

    with database.transaction() as s:
        assert exc.decide(s, "pia.pm", over, "sign_off", "client moving to cash, agreed") == "signed_off"
    with database.transaction() as s:
        assert review(s, "pat.pm", ids["over"], "accept") == "accepted"
    with pytest.raises(InvalidTransition), database.transaction() as s:
        exc.decide(s, "pia.pm", over, "deny", "changed my mind")  # decided once

    with database.transaction() as s:
        assert exc.decide(s, "pia.pm", denied, "deny", "40% in one go is too much") == "denied"
    with pytest.raises(exc.ExceptionPending, match="denied"), database.transaction() as s:
        review(s, "pat.pm", ids["denied"], "accept")
    with database.transaction() as s:  # under the limits: accepted as before
        assert review(s, "pat.pm", ids["small"], "accept") == "accepted"
        assert review(s, "pat.pm", ids["calm"], "accept") == "accepted"
    with database.session() as s:
        actions = list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "proposal_exception")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["proposal_exception.open"] * 2 + [
        "proposal_exception.sign_off",
        "proposal_exception.deny",
    ]
