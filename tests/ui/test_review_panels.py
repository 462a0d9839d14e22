"""PM and compliance review panels against a real book: the performance chart equals the engine's
reports, proposals are accepted/rejected through the engine (and into compliance), the approval
queue shows each rule's numbers, and reconciliation breaks are worked through the workflow."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from connectors.custodian.load import load_files
from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase, CheckResult
from engine.demo.custodian_files import write_custodian_files
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.reconcile.run import reconcile
from engine.reconcile.tables import Break, BreakComment
from engine.reports.performance import performance_report, risk_report
from engine.reports.scope import book_as_of
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, open_window

CUSTODIANS = {
    "SIM-CUSTODIAN-A": "sim-custodian-a_*",
    "SIM-CUSTODIAN-B": "sim-custodian-b_*",
    "SIM-CUSTODIAN-C": "sim-custodian-c_*",
}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A 12-account demo book with custodian breaks reconciled and three real rebalance proposals."""
    d = tmp_path_factory.mktemp("review")
    database = build_book(d / "book.db")
    write_custodian_files(database, d / "files", seed=5, breaks=0.3)
    for cust, pattern in CUSTODIANS.items():
        load_files(database, sorted((d / "files").glob(pattern)), cust, loaded_by="cora.compliance")
    with database.transaction() as s:
        as_of = book_as_of(s)
        reconcile(s, as_of, run_by="cora.compliance")
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(3)))
    run_bulk(database, RebalanceSettings(), ids, executor="inline", user="pat.pm")
    yield database
    database.dispose()


def wait_jobs(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not window.desk.jobs.running, timeout=60_000)


def proposal_status(database: Database, pid: int) -> str:
    with database.session() as s:
        return s.get(Proposal, pid).status  # type: ignore[union-attr]


def test_performance_chart_equals_the_reports(qtbot, book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pm = open_window(qtbot, book, "pat.pm", tmp_path / "p.ini")
    panel = pm.docks["performance"]
    assert panel.isVisible()
    qtbot.waitUntil(lambda: panel.data is not None, timeout=60_000)
    wait_jobs(qtbot, pm)
    d = panel.data
    with book.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == d.account)).one()
        end = book_as_of(s)
        start = end - timedelta(days=365)
        perf = performance_report(s, [aid], start, end, "model")["rows"][0]
        risk = risk_report(s, [aid], start, end)["rows"][0]
    assert d.account == pm.docks["performance"].chart.account.currentText().split(" · ")[0]
    # The account line ends at the report's TWR, the benchmark line at its benchmark return.
    x, y = panel.chart.account_curve.getData()
    assert len(x) == len(d.growth) and y[0] == 0.0
    assert y[-1] / 100 == pytest.approx(perf["twr"], abs=1e-6)
    _, yb = panel.chart.bench_curve.getData()
    assert yb[-1] / 100 == pytest.approx(perf["benchmark_return"], abs=1e-6)
    _, ydd = panel.chart.dd_curve.getData()
    assert ydd.min() / 100 == pytest.approx(risk["max_drawdown"], abs=1e-6)
    # Dates on the x axis are the report's first and last dates.
    first = np.datetime64(int(x[0]), "s").astype("datetime64[D]").item()
    last = np.datetime64(int(x[-1]), "s").astype("datetime64[D]").item()
    assert (first.isoformat(), last.isoformat()) == (perf["from"], perf["to"])
    figures = dict(
        zip(panel.chart.figures.column_values("measure"), panel.chart.figures.column_values("value"))
    )
    # The figures beside the chart, recomputed by hand from the plotted growth curve (plain Python:
    # statistics, a sorted list, an explicit peak loop), not taken from the reports the panel calls.
    growth = [1 + v / 100 for v in y]
    rets = [b / a - 1 for a, b in itertools.pairwise(growth)]
    ordered = sorted(rets)
    h = 0.01 * (len(ordered) - 1)  # the 1% quantile, linear between order statistics
    q = ordered[int(h)] + (h - int(h)) * (ordered[int(h) + 1] - ordered[int(h)])
    peak, worst = growth[0], 0.0
    for g in growth:
        peak = max(peak, g)
        worst = min(worst, g / peak - 1)
    assert figures["TWR"] == f"{(growth[-1] - 1) * 100:+.2f}%"
    assert figures["Volatility"] == f"{statistics.stdev(rets) * math.sqrt(252) * 100:.2f}%"
    assert figures["VaR 99% hist."] == f"{-q * 100:.2f}%"
    assert figures["Max drawdown"] == f"{worst * 100:+.2f}%"
    close_window(pm)


def test_accept_and_reject_proposals_in_the_panel(qtbot, book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with book.session() as s:
        rows = [p for p in s.scalars(select(Proposal).order_by(Proposal.id)) if p.status == "ok"]
        pids = [p.id for p in sorted(rows, key=lambda p: not (p.payload or {}).get("trades"))]
    assert len(pids) == 3
    a, b, c = pids  # a has trades (the solve moved the account)
    pm = open_window(qtbot, book, "pat.pm", tmp_path / "p.ini")
    panel = pm.docks["proposals"]
    messages: list[str] = []
    pm.desk.message.connect(messages.append)
    panel.accept([a])
    wait_jobs(qtbot, pm)
    assert proposal_status(book, a) == "accepted"
    with book.session() as s:
        case = approvals.find_case(s, "proposal", a)
        assert case is not None and case.state in ("checked", "pending_approval")
        assert case.created_by == "pat.pm"
    panel.reject([b], reason="client asked to wait")
    wait_jobs(qtbot, pm)
    assert proposal_status(book, b) == "rejected"
    # All or none: accepting c together with the already accepted a changes neither.
    panel.accept([c, a])
    wait_jobs(qtbot, pm)
    assert proposal_status(book, c) == "ok"
    qtbot.waitUntil(lambda: any("nothing changed" in m for m in messages), timeout=10_000)
    with book.session() as s:
        assert approvals.find_case(s, "proposal", c) is None
        audit = s.execute(
            select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.reason).where(
                AuditEntry.entity == "proposal"
            )
        ).all()
    assert ("proposal.accept", str(a), None) in audit
    assert ("proposal.reject", str(b), "client asked to wait") in audit
    model = panel.blotter.model
    qtbot.waitUntil(lambda: model.value(model.view_row_of_key(b), "status") == "rejected", timeout=10_000)
    close_window(pm)


@pytest.fixture
def flagged(book: Database) -> Iterator[int]:
    """A proposal buying far more than the account's cash: the real check flags it (pending)."""
    with book.transaction() as s:
        acct = s.scalars(select(Account).order_by(Account.id.desc())).first()
        lot = s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id)).first()
        sym = s.get(Security, lot.security_id).symbol
        p = Proposal(batch_id="test", account_id=acct.id, mode="rebalance", status="accepted", created_by="pat.pm",
                     payload={"trades": [{"symbol": sym, "side": "buy", "quantity": 20_000}]})  # fmt: skip
        s.add(p)
        s.flush()
        view = approvals.submit(s, "pat.pm", "proposal", p.id)
    assert view.state == "pending_approval"
    yield view.id


def test_queue_shows_each_rule_result_and_decides(qtbot, book, flagged, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cora = open_window(qtbot, book, "cora.compliance", tmp_path / "c.ini")
    panel = cora.docks["approvals"]
    queue = panel.blotter.model
    qtbot.waitUntil(lambda: queue.view_row_of_key(flagged) >= 0 and panel.case_id is not None, timeout=30_000)
    wait_jobs(qtbot, cora)
    panel.blotter.view.setCurrentIndex(queue.index(queue.view_row_of_key(flagged), 0))  # the user selects it
    qtbot.waitUntil(lambda: panel.case_id == flagged and panel.rules.rowCount() > 0, timeout=30_000)
    wait_jobs(qtbot, cora)
    with book.session() as s:
        case = s.get(ApprovalCase, flagged)
        results = s.scalars(select(CheckResult).where(CheckResult.run_id == case.run_id)).all()
    assert panel.exceptions.isChecked()  # exceptions only by default: passes hidden
    assert panel.rules.total_rows == len(results)
    assert panel.rules.rowCount() == sum(r.outcome != "pass" for r in results)
    hits = {
        (r.rule_code, r.outcome, r.limit_value, r.before_value, r.after_value)
        for r in results
        if r.outcome != "pass"
    }
    shown = {
        (panel.rules.value(i, "rule"), panel.rules.value(i, "outcome"), panel.rules.value(i, "limit"),
         panel.rules.value(i, "before"), panel.rules.value(i, "after"))
        for i in range(panel.rules.rowCount()) if panel.rules.value(i, "outcome") != "pass"
    }  # fmt: skip
    assert hits and shown == hits
    assert panel.rules.value(0, "outcome") in ("flag", "block")  # worst first
    assert panel.rules.value(0, "severity") in ("soft", "hard")
    assert "not passed" in panel.detail.text()
    panel.exceptions.setChecked(False)
    assert panel.rules.rowCount() == len(results)
    panel.exceptions.setChecked(True)
    panel.decide("reject", [flagged], reason="policy_breach", comment="too large")
    wait_jobs(qtbot, cora)
    with book.session() as s:
        assert s.get(ApprovalCase, flagged).state == "rejected"
    close_window(cora)


def test_reconciliation_breaks_are_worked_through_the_workflow(qtbot, book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with book.session() as s:  # the raw rows, not the query the panel itself runs
        want = s.scalars(select(Break)).all()
    assert want
    cora = open_window(qtbot, book, "cora.compliance", tmp_path / "c.ini")
    panel = cora.docks["reconcile"]
    assert panel.isVisible()
    model = panel.blotter.model
    qtbot.waitUntil(lambda: model.rowCount() == len(want), timeout=30_000)
    wait_jobs(qtbot, cora)
    row = {r.id: r for r in want}
    for i in range(model.rowCount()):
        r = row[int(model.value(i, "id"))]
        assert (model.value(i, "type"), model.value(i, "status")) == (r.break_type, r.status)
        assert model.value(i, "explanation") == (r.explanation or "")
    first = next(r.id for r in want if r.status == "open")
    second = next(r.id for r in want if r.status == "explained")
    assert f"Break {panel.break_id}" in panel.detail.text()
    # Filter by type: only that type remains.
    kind = row[first].break_type
    combo = panel.blotter.combos["type"]
    qtbot.waitUntil(lambda: combo.findText(kind) >= 0, timeout=5_000)  # choices follow the data each second
    combo.setCurrentText(kind)
    assert set(model.column_values("type")) == {kind}
    combo.setCurrentText("All")

    # All or none: an explained break cannot go to investigating, so the open one does not either.
    panel.work([first, second], "investigate")
    wait_jobs(qtbot, cora)
    with book.session() as s:
        assert (s.get(Break, first).status, s.get(Break, second).status) == ("open", "explained")
    panel.work([first], "assign")
    wait_jobs(qtbot, cora)
    panel.work([first], "comment", "custodian confirms late booking")
    wait_jobs(qtbot, cora)
    panel.work([first], "resolve_timing", "settles tomorrow")
    wait_jobs(qtbot, cora)
    with book.session() as s:
        b1, b2 = s.get(Break, first), s.get(Break, second)
        assert (b1.owner, b1.status, b1.resolution, b1.resolved_by) == (
            "cora.compliance", "resolved", "timing", "cora.compliance",
        )  # fmt: skip
        assert b2.status == "explained"
        notes = s.scalars(select(BreakComment.text).where(BreakComment.break_id == first)).all()
        actions = s.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity == "recon_break", AuditEntry.entity_id == str(first)
            )
        ).all()
    assert {"custodian confirms late booking", "settles tomorrow"} <= set(notes)
    assert list(actions) == [
        "reconcile.break.open", "reconcile.break.assign", "reconcile.break.comment", "reconcile.break.resolve",
    ]  # fmt: skip
    qtbot.waitUntil(lambda: model.value(model.view_row_of_key(first), "status") == "resolved", timeout=10_000)
    close_window(cora)


def test_no_break_or_case_is_invented(book: Database) -> None:
    """The panels' adapters return exactly the stored rows (nothing padded for the screenshot)."""
    from engine.views.reconcile import breaks

    with book.session() as s:
        stored = {(b.id, b.break_type, b.status) for b in s.scalars(select(Break))}
    shown = breaks(book)
    assert stored and set(zip(shown["id"].astype(int), shown["type"], shown["status"])) == stored
    assert len(shown) == len(stored)
