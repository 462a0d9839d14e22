"""Desk conventions in the approval queue: limit, before and after in the rule's own unit (as its
sentence says them), exceptions only by default with results coloured by outcome, approve and
reject as buttons answering their keys. Expected texts are written out here from the raw check
results, independently of the panel's formatting code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from sqlalchemy import select

from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase, CheckResult
from engine.rebalance.tables import Proposal
from engine.reports.scope import book_as_of
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from engine.views.approvals import RULE_UNITS, figure
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, open_window
from ui.decision_dialog import DecisionDialog
from widgets.colors import OUTCOME_COLORS


def _submit(s, acct: Account, trades: list[dict[str, object]]) -> int:  # type: ignore[no-untyped-def]
    p = Proposal(batch_id="conv", account_id=acct.id, mode="rebalance", status="accepted",
                 created_by="pat.pm", payload={"trades": trades})  # fmt: skip
    s.add(p)
    s.flush()
    view = approvals.submit(s, "pat.pm", "proposal", p.id)
    assert view.state == "pending_approval"
    return int(view.id)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, int, int]]:
    """Two flagged cases: a buy far beyond the account's cash and weight limits, and a buy in an
    account whose KYC review lapsed 93 days before the book's date (a hard block)."""
    database = build_book(tmp_path_factory.mktemp("conv") / "book.db")
    with database.transaction() as s:
        accts = s.scalars(select(Account).order_by(Account.id)).all()
        big, kyc = accts[-1], accts[0]
        lot = s.scalars(select(TaxLot).where(TaxLot.account_id == big.id)).first()
        sym = s.get(Security, lot.security_id).symbol  # type: ignore[union-attr]
        kyc.kyc_status = "approved"
        kyc.kyc_review_date = book_as_of(s) - timedelta(days=93)
        s.flush()
        heavy = _submit(s, big, [{"symbol": sym, "side": "buy", "quantity": 20_000}])
        lapsed = _submit(s, kyc, [{"symbol": sym, "side": "buy", "quantity": 10}])
    yield database, heavy, lapsed
    database.dispose()


def test_every_template_has_a_unit() -> None:
    import engine.compliance.rules  # noqa: F401  (registers the templates)
    from engine.compliance.templates import TEMPLATES

    assert set(TEMPLATES) <= set(RULE_UNITS)


def test_figures_in_their_units() -> None:
    assert figure("pct", 0.163228, "CHF", "USD", "") == "16.32%"
    assert figure("pct", 0.12, "CHF", "USD", "") == "12.00%"
    assert figure("money:base", 1234567.5, "JPY", "USD", "") == "1,234,568 JPY"
    assert figure("money:local", -2500.5, "JPY", "USD", "") == "-2,500.50 USD"
    assert figure("money:param", 5_000_000, "JPY", "USD", "EUR") == "5,000,000.00 EUR"
    assert figure("days", 93.0, "", "", "") == "93 days" and figure("days", 0.0, "", "", "") == "0 days"
    assert figure("qty", 1_000_000.0, "", "", "") == "1,000,000"
    assert figure("score", 4.25, "", "", "") == "4.2"
    assert figure("pct", None, "", "", "") == "" and figure("pct", float("nan"), "", "", "") == ""


def _expected(template: str, column: int, raw: float | None, base: str, local: str, param: str) -> str:
    """Written out by hand for the units the cases below reach."""
    if raw is None:
        return ""
    unit = RULE_UNITS[template][column]
    if unit == "pct":
        return f"{raw * 100:.2f}%"
    if unit == "days":
        return f"{raw:.0f} days"
    if unit.startswith("money:"):
        ccy = {"money:base": base, "money:local": local, "money:param": param}[unit]
        places = 0 if ccy == "JPY" else 2
        return f"{raw:,.{places}f} {ccy}"
    if unit == "qty":
        return f"{raw:,.0f}"
    return f"{raw:,.0f}"


def test_rule_results_in_their_units_exceptions_first_and_coloured(qtbot, cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database, heavy, lapsed = cases
    cora = open_window(qtbot, database, "cora.compliance", tmp_path / "c.ini")
    try:
        panel = cora.docks["approvals"]
        queue = panel.blotter.model
        for case_id in (heavy, lapsed):
            qtbot.waitUntil(lambda c=case_id: queue.view_row_of_key(c) >= 0, timeout=30_000)
            panel.blotter.view.setCurrentIndex(queue.index(queue.view_row_of_key(case_id), 0))
            qtbot.waitUntil(
                lambda c=case_id: panel.case_id == c and panel.rules.total_rows > 0, timeout=30_000
            )
            qtbot.waitUntil(lambda: not cora.desk.jobs.running, timeout=30_000)
            with database.session() as s:
                case = s.get(ApprovalCase, case_id)
                results = s.scalars(select(CheckResult).where(CheckResult.run_id == case.run_id)).all()
                from engine.compliance.tables import RuleVersion

                tmpl = {(v.code, v.version): (v.template, v.params) for v in s.scalars(select(RuleVersion))}
                base = {a.code: a.base_currency for a in s.scalars(select(Account))}
                local = {x.symbol: x.currency for x in s.scalars(select(Security))}
            exceptions = [r for r in results if r.outcome != "pass"]
            m = panel.rules
            assert m.rowCount() == len(exceptions) and m.total_rows == len(results)
            assert "passes hidden" in panel.rule_count.text()
            seen = set()
            for row in range(m.rowCount()):
                r = next(
                    x
                    for x in exceptions
                    if x.rule_code == m.value(row, "rule")
                    and x.symbol == m.value(row, "symbol")
                    and x.after_value == m.value(row, "after")
                )
                template, params = tmpl[(r.rule_code, r.rule_version)]
                ccys = (
                    base[r.account_code],
                    local.get(r.symbol, ""),
                    str((params or {}).get("currency", "")),
                )
                for col, (key, raw) in enumerate(
                    (("limit", r.limit_value), ("before", r.before_value), ("after", r.after_value))
                ):
                    text = m.data(m.index(row, _col(m, f"{key}_text")), Qt.ItemDataRole.DisplayRole)
                    assert text == _expected(template, col, raw, *ccys), (r.rule_code, key, raw, text)
                    if RULE_UNITS[template][col] == "pct" and text:
                        assert text in r.message, (r.rule_code, text, r.message)  # matches its sentence
                colour = m.data(m.index(row, 0), Qt.ItemDataRole.BackgroundRole)
                assert colour is not None and colour.name() == OUTCOME_COLORS[r.outcome][0]
                seen.add(r.rule_code)
            if case_id == lapsed:
                assert "KYC" in seen
                kyc_row = next(i for i in range(m.rowCount()) if m.value(i, "rule") == "KYC")
                after = m.data(m.index(kyc_row, _col(m, "after_text")), Qt.ItemDataRole.DisplayRole)
                limit = m.data(m.index(kyc_row, _col(m, "limit_text")), Qt.ItemDataRole.DisplayRole)
                assert (limit, after) == ("0 days", "93 days")
            else:
                assert {"SEC-WEIGHT", "OVERDRAFT"} & seen
            panel.exceptions.setChecked(False)
            assert m.rowCount() == len(results)
            passed = next(i for i in range(m.rowCount()) if m.value(i, "outcome") == "pass")
            assert m.data(m.index(passed, 0), Qt.ItemDataRole.BackgroundRole) is None
            panel.exceptions.setChecked(True)
    finally:
        close_window(cora)


def _col(model, key: str) -> int:  # type: ignore[no-untyped-def]
    return next(i for i, c in enumerate(model.columns) if c.key == key)


def test_approve_and_reject_are_buttons_with_keys(qtbot, cases, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    database, heavy, _lapsed = cases
    cole = open_window(qtbot, database, "cole.compliance", tmp_path / "k.ini")
    try:
        panel = cole.docks["approvals"]
        queue = panel.blotter.model
        qtbot.waitUntil(lambda: queue.view_row_of_key(heavy) >= 0, timeout=30_000)
        assert panel.approve_button.isVisible() and panel.reject_button.isVisible()
        assert panel.approve_button.isEnabled()
        assert "Ctrl+Return" in [k.toString() for k in panel.approve_action.shortcuts()]
        assert "Ctrl+Backspace" in [k.toString() for k in panel.reject_action.shortcuts()]
        asked: list[str] = []

        def fake_exec(dialog: DecisionDialog) -> int:
            asked.append(dialog.windowTitle())
            dialog.reason.setCurrentIndex(0)
            dialog.comment.setText("checked with the PM")
            return QDialog.DialogCode.Accepted

        monkeypatch.setattr(DecisionDialog, "exec", fake_exec)
        panel.blotter.view.setCurrentIndex(queue.index(queue.view_row_of_key(heavy), 0))
        qtbot.waitUntil(lambda: panel.case_id == heavy, timeout=30_000)
        panel.blotter.view.setFocus()
        qtbot.keyClick(panel.blotter.view, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not cole.desk.jobs.running, timeout=30_000)
        assert asked == ["Reject 1 case(s)"]
        with database.session() as s:
            assert s.get(ApprovalCase, heavy).state == "rejected"
    finally:
        close_window(cole)


def test_proposal_detail_agrees_with_its_row_and_names_the_rules(qtbot, cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database, _heavy, lapsed = cases
    with database.session() as s:
        case = s.get(ApprovalCase, lapsed)
        pid, state = int(case.entity_id), case.state
        flagged = sorted(
            {
                r.rule_code
                for r in s.scalars(select(CheckResult).where(CheckResult.run_id == case.run_id))
                if r.outcome != "pass"
            }
        )
        status = s.get(Proposal, pid).status
    pm = open_window(qtbot, database, "pat.pm", tmp_path / "pm.ini")
    try:
        panel = pm.docks["proposals"]
        panel.show()
        panel.raise_()
        panel.show_proposal(pid)
        qtbot.waitUntil(lambda: "compliance" in panel.detail.text(), timeout=30_000)
        text = panel.detail.text()
        assert f"· {status} ·" in text and f"compliance {state.replace('_', ' ')}" in text
        assert "KYC" in flagged and all(f"<b>{code}</b>" in text for code in flagged[:6])
    finally:
        close_window(pm)


def test_audit_trail_dates_and_order_noise(qtbot, cases, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Order status changes are hidden unless asked; the dates bound what is read."""
    from datetime import UTC, datetime

    from engine.audit.chain import record
    from engine.store.people import AuditEntry

    database, _heavy, _lapsed = cases
    now = datetime.now(UTC)
    with database.transaction() as s:
        for i in range(5):
            record(
                s, "oms", "order.state", "order", 9000 + i, {"status": "new"}, {"status": "sent"}, "submit"
            )
        record(s, "cora.compliance", "rule.change", "rule", "OLD", reason="old", at=now - timedelta(days=60))
    with database.session() as s:
        entries = s.scalars(select(AuditEntry)).all()
    recent = [e for e in entries if e.at.replace(tzinfo=UTC) >= now - timedelta(days=29, hours=now.hour + 1)]
    cora = open_window(qtbot, database, "cora.compliance", tmp_path / "a.ini")
    try:
        panel = cora.docks["audit"]
        panel.show()
        panel.raise_()
        panel.refresh()
        qtbot.waitUntil(
            lambda: not cora.desk.jobs.running and panel.blotter.model.total_rows > 0, timeout=30_000
        )
        m = panel.blotter.model
        actions = m.column_values("action").tolist()
        assert "order.state" not in actions and "rule.change" not in actions
        assert m.total_rows == sum(e.action != "order.state" for e in recent)
        panel.order_events.setChecked(True)
        qtbot.waitUntil(lambda: "order.state" in m.column_values("action").tolist(), timeout=30_000)
        assert m.column_values("action").tolist().count("order.state") == 5
        panel.date_from.setDate(panel.date_from.date().addDays(-90))
        qtbot.waitUntil(lambda: "rule.change" in m.column_values("action").tolist(), timeout=30_000)
        assert m.total_rows == len(entries)
        # the other filters still work on what is read: user, action, entity
        panel.blotter.filter_by("action", "rule.change")
        assert m.rowCount() == 1 and m.value(0, "entity_id") == "OLD"
    finally:
        close_window(cora)


def test_audit_trail_adds_new_entries_without_reading_the_trail_again(  # type: ignore[no-untyped-def]
    qtbot, cases, tmp_path: Path
) -> None:
    """A change elsewhere (an approval, a login) reads only the entries after the newest shown and
    shows them first; the trail is append-only, so the rows already shown are never read again."""
    from engine.audit.chain import record

    database, _heavy, _lapsed = cases
    cora = open_window(qtbot, database, "cora.compliance", tmp_path / "n.ini")
    try:
        panel = cora.docks["audit"]
        panel.show()
        panel.raise_()
        panel.refresh()
        m = panel.blotter.model
        qtbot.waitUntil(lambda: not cora.desk.jobs.running and m.total_rows > 0, timeout=30_000)
        before = m.total_rows
        reads: list[tuple[object, object]] = []
        fetch = panel.fetch

        def spy(ids: list[int] | None, after_id: int | None = None):  # type: ignore[no-untyped-def]
            reads.append((ids, after_id))
            return fetch(ids, after_id)

        panel.fetch = spy  # type: ignore[method-assign]
        with database.transaction() as s:
            for i in range(3):
                record(s, "cora.compliance", "rule.change", "rule", f"NEW{i}", reason="tightened")
        cora.desk.data_changed.emit("approvals")
        qtbot.waitUntil(lambda: m.total_rows == before + 3, timeout=30_000)
        assert len(reads) == 1 and reads[0][0] is None and isinstance(reads[0][1], int) and reads[0][1] > 0
        assert [m.value(r, "entity_id") for r in range(3)] == ["NEW2", "NEW1", "NEW0"]  # newest first
        cora.desk.data_changed.emit("approvals")  # nothing new: one small read, no row changes
        qtbot.waitUntil(lambda: len(reads) == 2 and not cora.desk.jobs.running, timeout=30_000)
        assert m.total_rows == before + 3 and reads[1][0] is None and reads[1][1] >= reads[0][1] + 3
    finally:
        close_window(cora)
