"""The performance dock's attribution tab: the table's effects add up to the active return of
`report attribution` (the same engine function) over the chart's range, and the bars are the rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.reports.attribution import attribution_report
from engine.reports.scope import book_as_of
from engine.store.accounts import Account
from tests.ui.helpers import close_window, open_window
from widgets.attribution_view import EFFECTS, TOTAL


def test_attribution_table_sums_to_the_reports_active_return(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pm = open_window(qtbot, demo_db, "pat.pm", tmp_path / "p.ini")
    panel = pm.docks["performance"]
    qtbot.waitUntil(lambda: panel.data is not None, timeout=60_000)
    panel.tabs.setCurrentWidget(panel.attribution)
    qtbot.waitUntil(lambda: panel.attribution_doc is not None, timeout=60_000)
    view = panel.attribution
    m = view.model
    segments = list(m.column_values("segment"))
    assert segments[-1] == TOTAL and len(segments) >= 3
    aid = int(panel.chart.current()[0])  # type: ignore[index]
    with demo_db.session() as s:
        code = s.scalars(select(Account.code).where(Account.id == aid)).one()
        end = book_as_of(s)
        doc = attribution_report(s, code, end - timedelta(days=365), end, by="sector")
    # Independent of the panel: the report's own figures, and the table's rows added up here.
    rows = [i for i, seg in enumerate(segments) if seg != TOTAL]
    table_sum = sum(float(m.column_values(e)[i]) for e in EFFECTS for i in rows)
    assert table_sum + doc["residual"] == pytest.approx(doc["active_return"], abs=1e-6)
    assert table_sum == pytest.approx(doc["portfolio_return"] - doc["benchmark_return"], abs=1e-6)
    assert float(m.column_values("total")[-1]) == pytest.approx(table_sum, abs=1e-9)
    assert sum(float(m.column_values("wp")[i]) for i in rows) == pytest.approx(1.0, abs=1e-6)
    # Each bar is its row's effect, in percent.
    for k, e in enumerate(EFFECTS):
        opts = view.bars[e].opts
        widths = [w if x0 == 0 else -w for x0, w in zip(opts["x0"], opts["width"])]
        assert widths == pytest.approx([float(m.column_values(e)[i]) * 100 for i in rows], abs=1e-9), k
    assert "active" in view.caption.text() and code in view.caption.text()
    # By currency: the grouping changes, the active return does not.
    view.by.setCurrentText("Currency")
    view.by.activated.emit(view.by.currentIndex())
    qtbot.waitUntil(lambda: panel.attribution_doc is not None and panel.attribution_doc["by"] == "currency",
                    timeout=60_000)  # fmt: skip
    assert panel.attribution_doc["active_return"] == pytest.approx(doc["active_return"], abs=1e-7)
    view.grab().save(str(tmp_path / "attribution.png"))
    close_window(pm)
