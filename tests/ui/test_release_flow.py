"""The PM -> compliance -> trader flow on the desk, end to end against the real engine and a
SIMULATED broker over real FIX on 127.0.0.1: the PM accepts proposals in the proposals panel (sent
to compliance), may release a clean one but not a flagged one, compliance approves the flagged one
in the approval queue, the trader releases it from the same panel, its orders (FX spot included)
appear in the trader's blotter, and its security orders are routed and acknowledged by the broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from sqlalchemy import select

from engine.clock import ManualClock
from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase
from engine.oms.tables import Order
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security
from engine.views.users import desk_users
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, open_window
from ui.desk import Desk
from ui.main_window import MainWindow
from ui.screenshot import wait_ready
from ui.settings import UserSettings
from ui.workers import Jobs
from workstation.trader_demo import SimulatedTrading

SUNDAY = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = build_book(tmp_path_factory.mktemp("release-flow") / "book.db", accounts=8)
    run_bulk(database, RebalanceSettings(), None, executor="inline", user="pat.pm")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def sim(book: Database) -> Iterator[SimulatedTrading]:
    """A simulated broker that acknowledges and never fills (orders stay working)."""
    trading = SimulatedTrading.start(book, clock=ManualClock(SUNDAY), fill_parts=0, route=False)
    yield trading
    trading.stop()


def wait_jobs(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not window.desk.jobs.running, timeout=120_000)


def select_rows(qtbot, panel, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Select these proposals in the panel's table, as a user would."""
    model, view = panel.blotter.model, panel.blotter.view
    qtbot.waitUntil(lambda: all(model.view_row_of_key(i) >= 0 for i in ids), timeout=30_000)
    sel = view.selectionModel()
    sel.clearSelection()
    for i in ids:
        sel.select(
            model.index(model.view_row_of_key(i), 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert sorted(int(k) for k in panel.selected()) == sorted(ids)  # type: ignore[call-overload]


def click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def orders_of(book: Database, pid: int) -> list[tuple[int, str, str, str]]:
    with book.session() as s:
        return [
            (o.id, o.status, sym, klass)
            for o, sym, klass in s.execute(
                select(Order, Security.symbol, Security.asset_class)
                .join(Security, Security.id == Order.security_id)
                .where(Order.proposal_id == pid)
                .order_by(Order.id)
            )
        ]


def case_state(book: Database, pid: int) -> tuple[str, str | None, int]:
    with book.session() as s:
        c = approvals.find_case(s, "proposal", pid)
        assert c is not None
        return c.state, c.outcome, c.id


def trader_window(qtbot, book: Database, sim: SimulatedTrading, ini: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    user = next(u for u in desk_users(book) if u.username == "tara.trader")
    desk = Desk(book, user, clock=ManualClock(SUNDAY, user_tz="Europe/London"), jobs=Jobs())
    sim.attach(desk)
    w = MainWindow(desk, UserSettings(user.username, QSettings(str(ini), QSettings.Format.IniFormat)),
                   theme="light", restore=False)  # fmt: skip
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    assert wait_ready(w, 60_000)
    return w


def test_pm_accepts_compliance_approves_trader_releases_and_the_broker_gets_the_orders(
    qtbot, book: Database, sim: SimulatedTrading, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with book.session() as s:
        pids = [
            p.id for p in s.scalars(select(Proposal).order_by(Proposal.id)) if (p.payload or {}).get("trades")
        ]
    assert len(pids) >= 2

    # 1. The PM accepts every proposal with trades: each goes to the compliance check.
    pm = open_window(qtbot, book, "pat.pm", tmp_path / "pm.ini", clock=ManualClock(SUNDAY))
    panel = pm.docks["proposals"]
    messages: list[str] = []
    pm.desk.message.connect(messages.append)
    select_rows(qtbot, panel, pids)
    click(qtbot, panel.accept_button)
    wait_jobs(qtbot, pm)
    states = {pid: case_state(book, pid) for pid in pids}
    flagged = [p for p, (st, _o, _c) in states.items() if st == approvals.PENDING]
    clean = [p for p, (st, _o, _c) in states.items() if st == approvals.CHECKED]
    assert len(flagged) >= 2, states  # the seed gives a flagged and a hard-blocked proposal

    # 2. The PM may release a clean proposal, not a flagged one (refused, audited, nothing made).
    target = flagged[0]
    select_rows(qtbot, panel, [target])
    click(qtbot, panel.release_button)
    wait_jobs(qtbot, pm)
    assert orders_of(book, target) == []
    assert any("waits for compliance approval" in m or "pending approval" in m for m in messages), messages
    if clean:
        select_rows(qtbot, panel, [clean[0]])
        click(qtbot, panel.release_button)
        wait_jobs(qtbot, pm)
        made = orders_of(book, clean[0])
        assert made and {st for _i, st, _s, _k in made} == {"released"}
        assert any("new order(s) in the blotter" in m for m in messages), messages
    panel.show_proposal(target)
    wait_jobs(qtbot, pm)
    shots = Path(os.environ.get("WORKSTATION_TEST_SHOTS", str(tmp_path)))  # to look at the panels
    pm.docks["proposals"].grab().save(str(shots / "proposals_pm.png"))
    close_window(pm)

    # 3. Compliance approves the flagged proposal in the approval queue (two approvers for a block).
    _state, _outcome, case_id = case_state(book, target)
    for reviewer in ("cora.compliance", "cole.compliance"):
        if case_state(book, target)[0] != approvals.PENDING:
            break
        cw = open_window(qtbot, book, reviewer, tmp_path / f"{reviewer}.ini")
        queue = cw.docks["approvals"]
        qtbot.waitUntil(lambda q=queue: q.blotter.model.view_row_of_key(case_id) >= 0, timeout=30_000)
        queue.decide("approve", [case_id], reason="risk_accepted", comment="reviewed the breach")
        wait_jobs(qtbot, cw)
        close_window(cw)
    assert case_state(book, target)[0] == approvals.APPROVED

    # A PM still may not release it: a flagged trade needs a trader (orders.release_flagged).
    pm = open_window(qtbot, book, "pat.pm", tmp_path / "pm2.ini", clock=ManualClock(SUNDAY))
    pm_msgs: list[str] = []
    pm.desk.message.connect(pm_msgs.append)
    select_rows(qtbot, pm.docks["proposals"], [target])
    click(qtbot, pm.docks["proposals"].release_button)
    wait_jobs(qtbot, pm)
    assert orders_of(book, target) == []
    assert any("orders.release_flagged" in m for m in pm_msgs), pm_msgs
    # Compliance rejected another one; the PM sends it to compliance again: checked anew, pending.
    other = flagged[1]
    _st, _o, other_case = case_state(book, other)
    with book.transaction() as s:
        approvals.decide(s, "cora.compliance", other_case, "reject", "policy_breach", "too concentrated")
    with book.session() as s:
        old_run = s.get(ApprovalCase, other_case).run_id  # type: ignore[union-attr]
    select_rows(qtbot, pm.docks["proposals"], [other])
    click(qtbot, pm.docks["proposals"].send_button)
    wait_jobs(qtbot, pm)
    assert case_state(book, other)[0] == approvals.PENDING
    with book.session() as s:
        assert s.get(ApprovalCase, other_case).run_id != old_run  # type: ignore[union-attr]
    assert any(m.startswith("Sent to compliance: 1 pending_approval") for m in pm_msgs), pm_msgs
    close_window(pm)
    with book.session() as s:
        denied = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "permission.denied", AuditEntry.username == "pat.pm"
            )
        ).all()
    assert any(e.entity_id == "orders.release_flagged" for e in denied)

    # 4. The trader releases it from the proposals panel: orders appear in the blotter.
    tw = trader_window(qtbot, book, sim, tmp_path / "tara.ini")
    tpanel = tw.docks["proposals"]
    tpanel.show()
    tpanel.load()
    select_rows(qtbot, tpanel, [target])
    click(qtbot, tpanel.release_button)
    wait_jobs(qtbot, tw)
    made = orders_of(book, target)
    with book.session() as s:
        p = s.get(Proposal, target)
        assert p is not None and p.status == "released"
        n_trades, n_fx = len(p.payload["trades"]), len(p.payload.get("fx_trades") or [])
    assert len(made) == n_trades + n_fx
    assert sum(k == "fx_spot" for *_x, k in made) == n_fx
    # What compliance approved on the proposal is not flagged again: every order is released.
    assert {st for _i, st, _s, _k in made} == {"released"}
    assert [o.proposal_id for o in tpanel.last_release] == [target]
    blotter = tw.docks["orders"].blotter.model
    qtbot.waitUntil(lambda: all(blotter.view_row_of_key(i) >= 0 for i, *_r in made), timeout=30_000)

    # 5. The trader's OMS routes the security orders to the SIMULATED broker over FIX.
    securities = [i for i, _st, _s, k in made if k != "fx_spot"]
    result = sim.link.route(securities, outside_hours=True)
    assert sorted(result.sent) == sorted(securities), result
    qtbot.waitUntil(
        lambda: all(st == "new" for i, st, _s, _k in orders_of(book, target) if i in securities),
        timeout=30_000,
    )
    with book.session() as s:
        cls = {o.id: o.cl_ord_id for o in s.scalars(select(Order).where(Order.id.in_(securities)))}
    at_broker = sim.broker.orders()
    assert all(cls[i] in at_broker and at_broker[cls[i]].live for i in securities)
    qtbot.waitUntil(
        lambda: all(blotter.value(blotter.view_row_of_key(i), "status") == "new" for i in securities),
        timeout=30_000,
    )
    tw.docks["orders"].grab().save(str(shots / "blotter_trader.png"))
    tpanel.grab().save(str(shots / "proposals_trader.png"))
    # Releasing again from the desk creates nothing new.
    select_rows(qtbot, tpanel, [target])
    click(qtbot, tpanel.release_button)
    wait_jobs(qtbot, tw)
    assert [o.state for o in tpanel.last_release] == ["already_released"]
    assert len(orders_of(book, target)) == len(made)
    tw.setProperty("force_close", True)
    tw.close()
    tw.desk.jobs.wait()
