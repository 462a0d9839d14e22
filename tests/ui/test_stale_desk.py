"""Stale data on the desktop: a US equity whose last week of closes never arrived is listed in the
read-only Stale data dock (what `report stale` prints), the account holding it is suspended from the
rebalance and its proposal's detail leads with the reason; a proposal's drift note shows beside its
max drift."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.views.stale import stale_report
from engine.views.users import desk_users
from tests.ui.conftest import build_book
from ui.desk import Desk
from ui.panels.proposal_panels import ProposalsPanel, detail_html
from ui.panels.stale_panel import StalePanel
from ui.workers import Jobs


@pytest.fixture(scope="module")
def stale_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str, str, int]]:
    """A 6-account book where one held New York equity has no close for its last week; the holder's
    rebalance (as the demo PM) is suspended. Yields the book, the symbol, the holder, its proposal."""
    from engine.rebalance.tables import Proposal

    database = build_book(tmp_path_factory.mktemp("stale-book") / "book.db", accounts=6)
    with database.session() as s:
        as_of = book_as_of(s)
        u = load_universe(s, as_of)
        accounts = load_accounts(s, u)
    held = sorted(
        {int(i) for a in accounts for i in a.lot_sec if u.mic[i] == "XNYS" and u.asset_class[i] == "equity"}
    )
    x = held[0]
    holder = next(a for a in accounts if x in a.lot_sec)
    with database.transaction() as s:
        s.execute(
            delete(PriceBar).where(
                PriceBar.security_id == int(u.ids[x]), PriceBar.date > as_of - timedelta(days=7)
            )
        )
    run_bulk(database, RebalanceSettings(), [holder.id], executor="inline", user="pat.pm")
    with database.session() as s:
        pid = max(p.id for p in s.scalars(select(Proposal)) if p.payload.get("account") == holder.code)
    yield database, str(u.symbols[x]), holder.code, pid
    database.dispose()


def shot(widget: object, name: str) -> None:
    out = os.environ.get("WORKSTATION_TEST_SHOTS")
    if out:
        widget.grab().save(os.path.join(out, f"{name}.png"))  # type: ignore[attr-defined]


def test_stale_dock_lists_what_report_stale_reports(stale_book, qtbot) -> None:  # type: ignore[no-untyped-def]
    database, sym, _holder, _pid = stale_book
    desk = Desk(
        database, next(u for u in desk_users(database) if u.username == "cora.compliance"), jobs=Jobs()
    )
    panel = StalePanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    m = panel.blotter.model
    qtbot.waitUntil(lambda: m.rowCount() > 0, timeout=30_000)
    with database.session() as s:
        report = stale_report(s)
    expected = {(r.item.kind, r.item.name): r for r in [*report.prices, *report.fx]}
    assert m.rowCount() == len(expected)
    row = m.view_row_of_key(f"price:{sym}")
    assert row >= 0
    item = expected[("price", sym)]
    assert m.value(row, "asset_class") == "equity" and m.value(row, "market") == "XNYS"
    assert m.value(row, "last") == item.item.last.isoformat()  # type: ignore[union-attr]
    assert m.value(row, "expected") == item.item.expected.isoformat()
    assert int(m.value(row, "accounts")) == item.accounts >= 1
    assert "stale price(s)" in panel.caption.text()
    shot(panel, "stale")
    desk.jobs.wait()


def test_suspended_proposal_shows_its_reason(stale_book, qtbot) -> None:  # type: ignore[no-untyped-def]
    database, sym, holder, pid = stale_book
    desk = Desk(database, next(u for u in desk_users(database) if u.username == "pat.pm"), jobs=Jobs())
    panel = ProposalsPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1200, 500)
    panel.show()
    panel.show_proposal(pid)
    qtbot.waitUntil(lambda: holder in panel.detail.text(), timeout=30_000)
    text = panel.detail.text()
    assert text.startswith("<b>Suspended</b> (stale data): stale price for " + sym)
    assert "expected" in text and panel.trades.rowCount() == 0
    shot(panel, "suspended")
    desk.jobs.wait()


def test_drift_note_beside_max_drift() -> None:
    payload = {
        "account": "A1",
        "status": "ok",
        "before": {"max_drift": 0.05, "tracking_error": 0.01},
        "after": {"max_drift": 0.06, "tracking_error": 0.008},
        "drift_note": "cash held back for a pending withdrawal (2.00%) & no short",
    }
    text = detail_html(payload, 3)
    assert (
        "max drift 5.00% → 6.00% (<i>cash held back for a pending withdrawal (2.00%) &amp; no short</i>)"
        in text
    )
    assert "Suspended" not in text
    assert "max drift 5.00% → 6.00%," in detail_html({**payload, "drift_note": None}, 3)
