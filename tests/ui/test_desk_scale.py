"""The desk under a bulk rebalance (issue 18): another desk's change repaints only the rows it
touches (no model reset, no reload), reads never pile up (one in flight per table), the status
bar's cancel ends the rebalance it shows (not a reload started after it), and at "done" the table
holds exactly the proposals the run wrote. Small book; the 10,000-account figures are
benchmarks/ui_bulk_rebalance.py's."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database
from engine.views.rebalance_process import CHILD_NICE
from tests.ui.helpers import close_window, open_window


@pytest.fixture(scope="module")
def qtbot_module(qapp, request):  # type: ignore[no-untyped-def]
    from pytestqt.qtbot import QtBot

    return QtBot(request)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from tests.ui.conftest import build_book

    database = build_book(tmp_path_factory.mktemp("scale") / "book.db", accounts=4)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def pat(qtbot_module, book, tmp_path_factory):  # type: ignore[no-untyped-def]
    window = open_window(qtbot_module, book, "pat.pm", tmp_path_factory.mktemp("ini") / "p.ini")
    panel = window.docks["proposals"]
    panel.show()
    panel.raise_()
    qtbot_module.waitUntil(
        lambda: window.shared.feed.online and panel.loaded and not window.desk.jobs.running, timeout=30_000
    )
    yield window
    close_window(window)


class Signals:
    """Counts what a model tells its views: resets, changed rows, inserted rows."""

    def __init__(self, model: Any) -> None:
        self.resets = 0
        self.changed: set[int] = set()
        self.inserted = 0
        model.modelReset.connect(self._reset)
        model.dataChanged.connect(self._changed)
        model.rowsInserted.connect(self._inserted)

    def _reset(self) -> None:
        self.resets += 1

    def _changed(self, a: Any, b: Any, *_: Any) -> None:
        self.changed.update(range(a.row(), b.row() + 1))

    def _inserted(self, _p: Any, a: int, b: int) -> None:
        self.inserted += b - a + 1


def _proposals(database: Database, batch: str, n: int) -> list[int]:
    with database.transaction() as s:
        accts = list(s.scalars(select(Account).order_by(Account.id)))
        made = [
            Proposal(batch_id=batch, account_id=accts[i % len(accts)].id, mode="full", status="ok",
                     created_by="pat.pm", payload={"trades": [{"symbol": "X"}] * (i % 3)})
            for i in range(n)
        ]  # fmt: skip
        s.add_all(made)
        s.flush()
        return [p.id for p in made]


def test_another_desks_change_repaints_only_the_rows_it_touches(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    panel = pat.docks["proposals"]
    model = panel.blotter.model
    ids = _proposals(book, "scale-elsewhere", 40)
    qtbot_module.waitUntil(lambda: all(model.view_row_of_key(i) >= 0 for i in ids), timeout=15_000)
    qtbot_module.waitUntil(lambda: not pat.desk.jobs.running and not model.pending, timeout=10_000)
    seen = Signals(model)
    fetched: list[object] = []
    fetch = panel.fetch
    panel.fetch = lambda keys: (fetched.append(None if keys is None else tuple(keys)), fetch(keys))[1]  # type: ignore[method-assign]
    other = Database(book.url)  # another desk: its own engine and connections
    try:
        touched = [ids[3], ids[27]]
        with other.transaction() as s:
            for pid in touched:
                s.get(Proposal, pid).status = "rejected"  # type: ignore[union-attr]
        qtbot_module.waitUntil(
            lambda: all(model.value(model.view_row_of_key(i), "status") == "rejected" for i in touched),
            timeout=15_000,
        )
        qtbot_module.waitUntil(lambda: not pat.desk.jobs.running and not model.pending, timeout=10_000)
        rows = {model.view_row_of_key(i) for i in touched}
        assert seen.resets == 0 and seen.inserted == 0  # no reload, nothing appended
        assert seen.changed == rows  # exactly the two rows, not the 38 others
        assert fetched and None not in fetched and set().union(*map(set, fetched)) == set(touched)  # type: ignore[arg-type]
        # the row's trade count, read by the database from the payload: 27 % 3 = 0, 3 % 3 = 0
        assert [model.value(r, "trades") for r in sorted(rows)] == [0, 0]
        # the same rows read again unchanged (a duplicate change) repaint nothing
        before = set(seen.changed)
        seen.changed.clear()
        panel.reread(touched)
        qtbot_module.waitUntil(lambda: not pat.desk.jobs.running and not model.pending, timeout=10_000)
        assert seen.changed == set() and seen.resets == 0 and before == rows
    finally:
        panel.fetch = fetch  # type: ignore[method-assign]
        other.dispose()


def test_reloads_do_not_pile_up_one_read_in_flight(qtbot_module, pat) -> None:  # type: ignore[no-untyped-def]
    panel = pat.docks["proposals"]
    gate = threading.Event()
    calls: list[object] = []
    fetch = panel.fetch

    def slow(keys: Any) -> Any:
        calls.append(keys)
        gate.wait(10)
        return fetch(keys)

    panel.fetch = slow  # type: ignore[method-assign]
    try:
        reads = panel.reads
        for _ in range(25):  # a feed asking for the whole table 25 times while a read is out
            panel.refresh()
        qtbot_module.waitUntil(lambda: len(calls) == 1, timeout=5_000)
        assert panel.reads == reads + 1  # one read out; the 24 other asks wait
        gate.set()
        qtbot_module.waitUntil(lambda: not pat.desk.jobs.running and not panel._busy, timeout=10_000)
        # the 24 asks made while it was out folded into one more whole read (keyed re-reads the
        # feed may have queued meanwhile come after it, one at a time)
        assert calls.count(None) == 2 and calls[:2] == [None, None]
        assert panel.reads == reads + len(calls)
    finally:
        gate.set()
        panel.fetch = fetch  # type: ignore[method-assign]


def _batch_ids(book: Database, batch: str) -> list[int]:
    with book.session() as s:
        return list(s.scalars(select(Proposal.id).where(Proposal.batch_id == batch).order_by(Proposal.id)))


def test_a_run_from_the_panel_shows_every_proposal_it_wrote_at_done(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    panel = pat.docks["proposals"]
    model = panel.blotter.model
    ended: list[Any] = []
    panel.run_finished.connect(ended.append)
    panel.selection.setCurrentText("all")
    panel.mode.setCurrentText("full")
    panel.run_button.click()
    assert not panel.run_button.isEnabled()
    qtbot_module.waitUntil(lambda: bool(ended), timeout=180_000)
    state = ended[0]
    assert state.failed is None and state.done and not state.summary.get("cancelled")
    written = _batch_ids(book, state.batch)
    assert state.summary["accounts"] == len(written) == 4  # every account of the book
    if hasattr(os, "nice"):  # the child (and its solvers) yield the CPU to the desk's GUI thread
        assert state.summary["process_nice"] == min(os.nice(0) + CHILD_NICE, 19)
    assert state.rows == len(written) == model.count_where("batch_id", state.batch)
    assert sorted(int(model.value(model.view_row_of_key(i), "id")) for i in written) == written
    assert (
        f"Rebalance {state.batch[:8]}: 4 proposal(s) in the table — done" in pat.statusBar().currentMessage()
    )
    assert panel.run_button.isEnabled()
    assert not [p for p in mp.active_children() if p.name == "ws-rebalance"]


def test_the_status_bar_cancel_ends_the_rebalance_not_a_later_reload(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    panel = pat.docks["proposals"]
    with book.session() as s:
        before = s.scalar(select(func.count()).select_from(Proposal))
    ended: list[Any] = []
    panel.run_finished.connect(ended.append)
    panel.selection.setCurrentText("all")
    panel.run_button.click()
    bar = pat.progress
    qtbot_module.waitUntil(lambda: bar.reporting and bar.job is panel.run_state.job, timeout=10_000)
    later: list[Any] = []  # a reload started after the run (as the shared desk's feed does)
    pat.desk.jobs.started.connect(later.append)
    pat.desk.run("Loading the audit trail", lambda _t: time.sleep(0.3))
    qtbot_module.waitUntil(lambda: bool(later), timeout=5_000)
    assert bar.job is panel.run_state.job  # the bar still shows the rebalance
    bar.cancel.click()
    qtbot_module.waitUntil(lambda: bool(ended), timeout=10_000)
    pat.desk.jobs.started.disconnect(later.append)
    state = ended[0]
    assert state.summary.get("cancelled") and state.job.token.cancelled
    assert not any(j.token.cancelled for j in later)  # the reload was not the one cancelled
    qtbot_module.waitUntil(lambda: not pat.desk.jobs.running, timeout=10_000)
    with book.session() as s:
        after = s.scalar(select(func.count()).select_from(Proposal))
    # whatever the run wrote before it was cancelled is in the table, nothing else was written
    assert after - before == state.rows
    assert not [p for p in mp.active_children() if p.name == "ws-rebalance"]
    assert "cancelled" in pat.statusBar().currentMessage()


def test_the_approval_queue_takes_another_desks_cases_row_by_row(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    from engine.compliance.approvals import decide
    from engine.compliance.tables import ApprovalCase

    panel = pat.docks["approvals"]
    panel.show()
    panel.raise_()
    qtbot_module.waitUntil(lambda: panel.loaded and not pat.desk.jobs.running, timeout=30_000)
    model = panel.blotter.model
    shown = model.rowCount()
    seen = Signals(model)
    removed: list[int] = []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append(b - a + 1))
    fetched: list[object] = []
    fetch = panel.fetch
    panel.fetch = lambda keys: (fetched.append(None if keys is None else tuple(keys)), fetch(keys))[1]  # type: ignore[method-assign]
    other = Database(book.url)
    try:
        with other.transaction() as s:
            case = ApprovalCase(entity="order", entity_id="7701", state="pending_approval", outcome="flag",
                                hard_block=False, created_by="pat.pm", terms=[])  # fmt: skip
            s.add(case)
            s.flush()
            case_id = case.id
        qtbot_module.waitUntil(lambda: model.view_row_of_key(case_id) >= 0, timeout=15_000)
        assert model.rowCount() == shown + 1 and seen.inserted == 1
        with other.transaction() as s:
            decide(s, "cole.compliance", case_id, "approve", "within_tolerance", "from the other desk")
        qtbot_module.waitUntil(lambda: model.view_row_of_key(case_id) < 0, timeout=15_000)
        qtbot_module.waitUntil(lambda: not pat.desk.jobs.running and not model.pending, timeout=10_000)
        assert model.rowCount() == shown and removed == [1]
        assert seen.resets == 0  # the queue was never reloaded whole
        assert fetched and None not in fetched and {case_id} == set().union(*map(set, fetched))  # type: ignore[arg-type]
    finally:
        panel.fetch = fetch  # type: ignore[method-assign]
        other.dispose()


def test_another_desks_run_appears_among_the_runs_to_compare(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    """The Compare dock follows the shared change feed: a run another desk stores shows up in its
    run lists without a manual refresh (it used to wait for this desk's own next run)."""
    compare = pat.docks["compare"]
    compare.show()
    compare.raise_()
    qtbot_module.waitUntil(lambda: compare.loaded and not pat.desk.jobs.running, timeout=15_000)
    batch = "elsewhere-compare-run"
    assert compare.run_a.findData(batch) < 0
    other = Database(book.url)
    try:
        with other.transaction() as s:
            acct = s.scalars(select(Account).order_by(Account.id)).first()
            s.add(Proposal(batch_id=batch, account_id=acct.id, mode="full", status="ok",  # type: ignore[union-attr]
                           created_by="pia.pm", payload={"trades": []}))  # fmt: skip
        qtbot_module.waitUntil(
            lambda: compare.run_a.findData(batch) >= 0 and compare.run_b.findData(batch) >= 0, timeout=15_000
        )
        label = compare.run_a.itemText(compare.run_a.findData(batch))
        assert "1 account(s)" in label and "pia.pm" in label
    finally:
        other.dispose()
