"""The PM's desk tools of issue 15 on real widgets offscreen: a proposed trade edited and removed in
the proposals dock (re-checked exactly, accept refused until it passes, audited), two runs compared
account by account, transition plans listed with their steps, a step executed and a plan cancelled,
and a household's accounts, drift against its target and proposals together."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.rebalance import transition_store
from engine.rebalance.bulk import run_bulk
from engine.rebalance.exceptions import breaches
from engine.rebalance.households import set_group
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.rebalance.transition import Budget
from engine.rebalance.transition_tables import TransitionPlan
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.views.snapshot import load_snapshot
from engine.views.users import desk_users
from tests.ui.conftest import copy_book
from ui.desk import Desk
from ui.panels.compare_panel import ComparePanel
from ui.panels.household_panel import HouseholdPanel
from ui.panels.proposal_edit import TradeEditDialog
from ui.panels.proposal_panels import ProposalsPanel
from ui.panels.transition_panel import TransitionsPanel
from ui.workers import Jobs

PM = "pat.pm"
RUNS: list[str] = []


@pytest.fixture(scope="module")
def book(demo_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A private copy of the 12-account book with two stored runs of the first six accounts."""
    database = copy_book(demo_db, tmp_path_factory.mktemp("pm-tools") / "book.db")
    with database.session() as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(6)))
    a = run_bulk(database, RebalanceSettings(skip_in_band=False), ids, executor="inline", user=PM)
    b = run_bulk(
        database, RebalanceSettings(skip_in_band=False, max_turnover=0.05), ids, executor="inline", user=PM
    )
    RUNS[:] = [a.batch_id, b.batch_id]
    yield database
    database.dispose()


def _desk(database: Database, user: str = PM) -> Desk:
    return Desk(database, next(u for u in desk_users(database) if u.username == user), jobs=Jobs())


def _wait(qtbot: Any, desk: Desk) -> None:
    qtbot.waitUntil(lambda: not desk.jobs.running, timeout=120_000)


def _payload(database: Database, pid: int) -> tuple[str, dict[str, Any]]:
    with database.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.status, dict(p.payload)


def test_edit_and_remove_a_trade_in_the_proposals_dock(qtbot, book: Database) -> None:  # type: ignore[no-untyped-def]
    desk = _desk(book)
    panel = ProposalsPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    _wait(qtbot, desk)
    with book.session() as s:
        pid = next(
            p.id
            for p in s.scalars(select(Proposal).where(Proposal.status == "ok").order_by(Proposal.id))
            if len((p.payload or {}).get("trades") or []) >= 2
            and not breaches(p.payload)
            and any(t["side"] == "buy" for t in p.payload["trades"])
        )
    _, original = _payload(book, pid)
    panel.show_proposal(pid)
    _wait(qtbot, desk)
    assert panel.current_proposal == pid
    row = next(r for r in range(panel.trades.rowCount()) if panel.trades.value(r, "side") == "buy")
    sym, qty = str(panel.trades.value(row, "symbol")), float(panel.trades.value(row, "quantity"))

    # The dialog: keyboard first, the quantity selected; a bad quantity is refused naming the field.
    d = TradeEditDialog(pid, {"symbol": sym, "side": "buy", "quantity": qty})
    qtbot.addWidget(d)
    assert d.quantity.hasSelectedText() and d.quantity.text() == f"{qty:g}"
    d.quantity.setText("0")
    d.apply()
    assert d.choice is None and d.error.text().startswith("New quantity: 0 is not a number above 0")
    d.quantity.setText(f"{qty + 0.5:g}")
    d.apply()
    assert d.choice == (qty + 0.5, False)

    # A fractional quantity breaks the board lot: the re-check fails, the detail says so, accept refused.
    panel.apply_trade_edit(sym, qty + 0.5, False)
    _wait(qtbot, desk)
    assert panel.last_edit is not None and panel.last_edit["ok"] is False
    assert any(v.startswith("round lot") for v in panel.last_edit["violations"])
    assert "re-check FAILED" in panel.detail.text() and "round lot" in panel.detail.text()
    panel.accept([pid])
    _wait(qtbot, desk)
    assert _payload(book, pid)[0] == "ok"

    # Removed: the trade leaves the grid, figures recomputed, the re-check passes, accept goes through.
    panel.apply_trade_edit(sym, None, True)
    _wait(qtbot, desk)
    assert panel.last_edit is not None and panel.last_edit["ok"] is True
    _status, pay = _payload(book, pid)
    shown = [str(panel.trades.value(r, "symbol")) for r in range(panel.trades.rowCount())]
    assert sym not in shown and len(shown) == len(original["trades"]) - 1
    traded = sum(t["est_value_base"] for t in pay["trades"])
    assert pay["turnover"] == pytest.approx(traded / pay["value_base"], rel=1e-6)
    assert f"turnover {pay['turnover'] * 100:.2f}%" in panel.detail.text()
    assert "re-check passed" in panel.detail.text()
    with book.session() as s:
        edits = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "proposal.edit", AuditEntry.entity_id == str(pid))
        ).all()
    assert [(e.username, e.after["edit"]["after"]) for e in edits] == [(PM, qty + 0.5), (PM, 0.0)]
    panel.accept([pid])
    _wait(qtbot, desk)
    assert _payload(book, pid)[0] == "accepted"

    # A trader is refused by the engine: the status line says so and nothing changes.
    tara = _desk(book, "tara.trader")
    other = ProposalsPanel(tara)
    qtbot.addWidget(other)
    said: list[str] = []
    tara.message.connect(said.append)
    other.current_proposal = pid
    other.apply_trade_edit(str(pay["trades"][0]["symbol"]), None, True)
    _wait(qtbot, tara)
    assert said and said[-1].startswith("Edit refused (nothing changed)")
    assert _payload(book, pid)[1] == pay


def test_compare_dock_shows_both_runs_and_the_difference(qtbot, book: Database) -> None:  # type: ignore[no-untyped-def]
    desk = _desk(book)
    panel = ComparePanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    _wait(qtbot, desk)
    a, b = RUNS
    assert panel.run_a.count() >= 2
    panel.compare(a, b)
    _wait(qtbot, desk)
    with book.session() as s:
        recs = {(p.batch_id, p.payload["account"]): p.payload for p in s.scalars(select(Proposal))}
    model = panel.blotter.model
    assert model.rowCount() == 6
    for r in range(model.rowCount()):
        acct = str(model.value(r, "account"))
        ra, rb = recs[(a, acct)], recs[(b, acct)]
        assert model.value(r, "turnover_b") <= 0.05 + 1e-9
        assert model.value(r, "te_a") == ra["after"]["tracking_error"]
        assert model.value(r, "drift_before") == ra["before"]["max_drift"]
        assert model.value(r, "tax_diff") == pytest.approx(rb["est_tax"] - ra["est_tax"], abs=1e-9)
        assert model.value(r, "turnover_diff") == pytest.approx(rb["turnover"] - ra["turnover"], abs=1e-9)
    assert "6 account(s) differ" in panel.caption.text() or "account(s) differ" in panel.caption.text()


def test_transitions_dock_lists_steps_executes_and_cancels(qtbot, book: Database) -> None:  # type: ignore[no-untyped-def]
    with book.session() as s:
        code = s.scalars(select(Account.code).order_by(Account.id).offset(7)).first()
    assert code is not None
    plan = transition_store.plan(book, PM, code, None, Budget(steps=3, turnover=0.3))
    plan_id = int(plan["id"])
    desk = _desk(book)
    panel = TransitionsPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    _wait(qtbot, desk)
    assert panel.shown == plan_id
    steps = panel.steps.model
    assert steps.rowCount() == 3
    proj = plan["projection"]
    for r in range(3):
        assert steps.value(r, "est_tax") == proj[r]["est_tax"]
        assert steps.value(r, "te_after") == proj[r]["te_after"]
        assert steps.value(r, "turnover") <= 0.3 + 1e-9
        assert steps.value(r, "state") == "planned"
    assert (
        f"3 step(s) of 30% turnover, no tax budget; TE {plan['te_start']:.2%} → {plan['te_final']:.2%}"
        in (panel.caption.text())
    )
    panel.execute_next([plan_id])
    _wait(qtbot, desk)
    _wait(qtbot, desk)
    assert steps.value(0, "state") == "proposed"
    pid = int(steps.value(0, "proposal"))
    assert _payload(book, pid)[1]["transition"] == {"plan": plan_id, "step": 1, "of": 3}
    # A trader may not cancel (rebalance.run): refused, the plan stays active.
    tara = _desk(book, "tara.trader")
    other = TransitionsPanel(tara)
    qtbot.addWidget(other)
    other.cancel([plan_id], "not mine")
    _wait(qtbot, tara)
    with book.session() as s:
        assert s.get(TransitionPlan, plan_id).status == "active"  # type: ignore[union-attr]
    panel.cancel([plan_id], "client changed mandate")
    _wait(qtbot, desk)
    _wait(qtbot, desk)
    with book.session() as s:
        assert s.get(TransitionPlan, plan_id).status == "cancelled"  # type: ignore[union-attr]
    assert panel.plans.model.value(0, "status") == "cancelled"


def test_household_dock_values_drift_and_proposals(qtbot, book: Database) -> None:  # type: ignore[no-untyped-def]
    with book.session() as s:
        hh = next(
            h
            for h in s.scalars(select(Household).order_by(Household.code))
            if len(s.scalars(select(Account.id).where(Account.household_id == h.id)).all()) > 1
        )
        code = hh.code
    with book.transaction() as s:
        set_group(s, PM, code, "blend", currency="USD", tax_budget=Decimal(5000))
    desk = _desk(book)
    panel = HouseholdPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    _wait(qtbot, desk)
    _wait(qtbot, desk)
    assert panel.shown == code and panel.summary["grouped"] and panel.summary["target"] == "blend"
    snap = load_snapshot(book)
    accts = snap.accounts[snap.accounts["household"] == code]
    values = snap.account_value()
    model = panel.accounts.model
    assert model.rowCount() == len(accts)
    usd = 0.0
    for r in range(model.rowCount()):
        row = accts[accts["code"] == model.value(r, "account")].iloc[0]
        v = float(values.loc[row["account_id"]])
        assert model.value(r, "value_base") == pytest.approx(v, abs=0.01)
        usd += v * float(snap.fx.rate(row["base_currency"], "USD", snap.as_of))
    assert panel.summary["value"] == pytest.approx(usd, rel=1e-6)
    assert sum(float(model.value(r, "share")) for r in range(model.rowCount())) == pytest.approx(1.0)
    drift = panel.drift.model
    weights = [float(drift.value(r, "weight")) for r in range(drift.rowCount())]
    targets = [float(drift.value(r, "target")) for r in range(drift.rowCount())]
    assert sum(weights) == pytest.approx(1.0, abs=1e-9) and sum(targets) == pytest.approx(1.0, abs=1e-9)
    assert abs(float(drift.value(0, "drift"))) == pytest.approx(panel.summary["max_drift"])
    assert code in panel.caption.text()
