"""The numpy table model: in-model sort and filter against pandas, batched upserts, copy and export."""

from __future__ import annotations

import itertools

import numpy as np
import openpyxl
import pandas as pd
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QSignalSpy

from widgets.columns import Column
from widgets.export import export_frame
from widgets.table_model import VIEW_RECT_CELLS, FrameTableModel
from widgets.table_view import DataTableView

COLS = [Column("name", "Name"), Column("value", "Value", "money", "ccy"), Column("status", "Status")]


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "name": [f"row{i:06d}" for i in range(n)],
            "value": rng.normal(0, 1000, n),
            "ccy": rng.choice(["USD", "JPY"], n),
            "status": rng.choice(["new", "filled", "canceled"], n),
        }
    )


def column(model: FrameTableModel, key: str) -> list[object]:
    return list(model.column_values(key))


def test_sort_and_filter_100k_rows_inside_the_model(qtbot) -> None:  # type: ignore[no-untyped-def]
    df = frame(100_000)
    model = FrameTableModel(COLS, key="id")
    model.set_frame(df)
    model.sort(1, Qt.SortOrder.DescendingOrder)
    assert np.array_equal(model.column_values("value"), df["value"].sort_values(ascending=False).to_numpy())
    model.set_predicate("status", {"filled"})
    expect = df[df["status"] == "filled"].sort_values("value", ascending=False)
    assert model.rowCount() == len(expect)
    assert np.array_equal(model.column_values("id"), expect["id"].to_numpy())
    model.set_text_filter("ROW0001")  # case-insensitive substring on text columns
    expect = expect[expect["name"].str.contains("row0001")]
    assert column(model, "id") == expect["id"].tolist()
    model.set_predicate("status", None)
    model.set_text_filter("")
    assert model.rowCount() == 100_000


def test_money_is_shown_with_its_currency_and_minor_units(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id")
    model.set_frame(
        pd.DataFrame(
            {
                "id": [1, 2],
                "name": ["a", "b"],
                "value": [1234567.891, -5.5],
                "ccy": ["USD", "JPY"],
                "status": ["new", "new"],
            }
        )
    )
    assert model.data(model.index(0, 1)) == "1,234,567.89 USD"
    assert model.data(model.index(1, 1)) == "-6 JPY"
    assert model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole) & int(Qt.AlignmentFlag.AlignRight)


def test_upserts_are_coalesced_into_one_flush_with_ranged_signals(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id", flush_ms=100)
    model.set_frame(frame(1000))
    spans: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=(): spans.append((a.row(), b.row())))
    inserted = QSignalSpy(model.rowsInserted)
    for i in range(500):  # 500 updates of existing rows and 10 new ones, one at a time
        model.upsert(
            pd.DataFrame(
                {
                    "id": [i],
                    "name": [f"row{i:06d}"],
                    "value": [float(i)],
                    "ccy": ["USD"],
                    "status": ["filled"],
                }
            )
        )
    model.upsert(
        pd.DataFrame(
            {
                "id": range(1000, 1010),
                "name": ["new"] * 10,
                "value": [1.0] * 10,
                "ccy": ["USD"] * 10,
                "status": ["new"] * 10,
            }
        )
    )
    assert model.pending == 510
    qtbot.waitUntil(lambda: model.pending == 0, timeout=2000)
    assert model.flushes == 1
    assert inserted.count() == 1
    # rows 0..499 changed: told in consecutive chunks of at most 200 cells each (the view repaints
    # only the on-screen part of such a range; a bigger range repaints the whole viewport)
    assert spans[0][0] == 0 and spans[-1][1] == 499
    assert all(b + 1 == a2 for (_a, b), (a2, _b) in itertools.pairwise(spans))
    assert all((b - a + 1) * len(COLS) <= VIEW_RECT_CELLS for a, b in spans)
    assert model.rowCount() == 1010
    assert model.value(499, "value") == 499.0 and model.value(1009, "name") == "new"


def test_live_rows_leave_a_filtered_view_and_sorted_order_is_kept(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id")
    model.set_frame(frame(200))
    model.set_predicate("status", {"new"})
    model.sort(1, Qt.SortOrder.AscendingOrder)
    before = model.rowCount()
    first = model.value(0, "id")
    model.upsert(pd.DataFrame({"id": [first], "status": ["filled"]}))
    model.upsert(
        pd.DataFrame({"id": [5000], "name": ["x"], "value": [-1e9], "ccy": ["USD"], "status": ["new"]})
    )
    model.flush()
    assert model.rowCount() == before  # one left, one arrived
    assert model.value(0, "id") == 5000  # sorted into first place
    assert first not in set(model.column_values("id"))
    vals = model.column_values("value").astype(float)
    assert np.all(np.diff(vals) >= 0)


def test_selection_follows_rows_when_the_model_resorts(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id")
    model.set_frame(frame(50))
    view = DataTableView(model)
    qtbot.addWidget(view)
    view.selectionModel().select(model.index(3, 0), QItemSelectionModel.SelectionFlag.Select)
    chosen = model.value(3, "id")
    model.sort(1, Qt.SortOrder.DescendingOrder)
    rows = [i.row() for i in view.selectionModel().selectedIndexes()]
    assert [model.value(r, "id") for r in rows] == [chosen]


def test_ctrl_c_copies_tab_separated_raw_values(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id")
    model.set_frame(
        pd.DataFrame(
            {
                "id": [1, 2],
                "name": ["a", "b"],
                "value": [1234.5, 2.25],
                "ccy": ["USD", "USD"],
                "status": ["new", "filled"],
            }
        )
    )
    view = DataTableView(model)
    qtbot.addWidget(view)
    view.show()
    view.selectAll()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QGuiApplication.clipboard().text()
    assert text == "Name\tValue\tStatus\na\t1234.5\tnew\nb\t2.25\tfilled\n"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_the_visible_rows(qtbot, tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(COLS, key="id")
    model.set_frame(frame(30))
    model.set_predicate("status", {"new"})
    path = tmp_path / f"out{suffix}"
    n = export_frame(model, path)
    assert n == model.rowCount()
    if suffix == ".csv":
        back = pd.read_csv(path)
        assert back["Name"].tolist() == list(model.column_values("name"))
    else:
        ws = openpyxl.load_workbook(path).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0] == ("Name", "Value", "Status")
        assert [r[1] for r in rows[1:]] == pytest.approx(list(model.column_values("value").astype(float)))


def test_far_apart_changes_repaint_only_their_rows(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Rows 2, 3 and 900 changed: two spans, not one covering the 897 rows between them; and on
    a real view only the changed rows on screen are repainted."""
    model = FrameTableModel(COLS, key="id")
    model.set_frame(frame(1000))
    spans: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda a, b, _roles=(): spans.append((a.row(), b.row(), a.column(), b.column()))
    )
    model.upsert(pd.DataFrame({"id": [900, 2, 3], "value": [1.0, 2.0, 3.0]}))
    model.flush()
    assert sorted(spans) == [(2, 3, 0, 2), (900, 900, 0, 2)]
    assert [model.value(r, "value") for r in (2, 3, 900)] == [2.0, 3.0, 1.0]


def test_changed_spans_merge_close_runs_and_cap_their_number() -> None:
    from widgets.table_model import MERGE_GAP, changed_spans

    assert changed_spans(np.array([], dtype=np.int64)) == []
    assert changed_spans(np.array([9, 3, 4, 4, 5])) == [(3, 9)]  # gap 4 <= MERGE_GAP: one span
    assert changed_spans(np.array([3, 4, 5, 5 + MERGE_GAP + 1, 100])) == [(3, 5), (10, 10), (100, 100)]
    rows = np.arange(0, 10_000, 10)  # 1,000 isolated rows
    spans = changed_spans(rows, limit=8)
    assert len(spans) == 8
    covered = np.zeros(10_000, dtype=bool)
    for a, b in spans:
        covered[a : b + 1] = True
    assert covered[rows].all()  # merged spans still cover every changed row


def test_a_burst_of_updates_ends_in_the_exact_last_state_of_every_key(qtbot) -> None:  # type: ignore[no-untyped-def]
    """20,000 updates of 700 keys in 200 batches, flushed by the model's own (burst) timer while
    they arrive: every key shows its last update, none is lost or duplicated."""
    model = FrameTableModel(COLS, key="id", flush_ms=5, burst_ms=20)
    model.set_frame(frame(300))  # keys 0..299 exist; 300..699 arrive during the burst
    rng = np.random.default_rng(11)
    expect = {int(k): (f"row{k:06d}", float(v)) for k, v in zip(range(300), frame(300)["value"])}
    for batch in range(200):
        keys = rng.integers(0, 700, 100)
        values = rng.normal(0, 100, 100)
        model.upsert(
            pd.DataFrame(
                {
                    "id": keys,
                    "name": [f"b{batch}k{k}" for k in keys],
                    "value": values,
                    "ccy": "USD",
                    "status": "filled",
                }
            )
        )
        for k, v in zip(keys.tolist(), values.tolist()):
            expect[k] = (f"b{batch}k{k}", v)
        if batch % 10 == 0:
            qtbot.wait(8)  # let the timer flush part-way, as the event loop would
    qtbot.waitUntil(lambda: model.pending == 0, timeout=5000)
    assert 1 < model.flushes < 200  # coalesced, but flushed while the burst ran
    ids = model.column_values("id").tolist()
    assert sorted(ids) == sorted(expect)  # every key once
    got = {
        int(k): (n, float(v))
        for k, n, v in zip(ids, model.column_values("name"), model.column_values("value"))
    }
    assert got == expect


def test_a_view_repaints_only_the_changed_rows_it_shows(qtbot) -> None:  # type: ignore[no-untyped-def]
    """250 changed rows below the fold and one on screen: the viewport repaints that one row."""
    from PySide6.QtCore import QEvent, QObject

    model = FrameTableModel(COLS, key="id")
    model.set_frame(frame(2000))
    view = DataTableView(model)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    regions: list[object] = []

    class Spy(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                regions.append(event.region())  # type: ignore[attr-defined]
            return False

    spy = Spy()
    view.viewport().installEventFilter(spy)
    qtbot.wait(50)
    regions.clear()
    keys = [3, *range(500, 750)]
    model.upsert(pd.DataFrame({"id": keys, "value": [7.0] * len(keys)}))
    model.flush()
    qtbot.waitUntil(lambda: bool(regions), timeout=5_000)  # the repaint the change asked for
    qtbot.wait(20)  # and any other paint the same change would have queued with it
    row3 = view.visualRect(model.index(3, 0))
    painted = [r for region in regions for r in region]  # type: ignore[attr-defined]
    assert painted, "the changed on-screen row was not repainted"
    assert all(r.top() <= row3.top() and r.bottom() >= row3.bottom() for r in painted)
    assert sum(r.height() for r in painted) <= 2 * row3.height()  # not the whole viewport
    assert model.value(3, "value") == 7.0 and model.value(749, "value") == 7.0


def test_the_timer_merges_first_and_tells_the_views_on_the_next_turn(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Merging and repainting are two short stalls, not one long one; until the views are told,
    the rows they know are unchanged in number, and `pending` says an update is still due."""
    model = FrameTableModel(COLS, key="id", flush_ms=5)
    model.set_frame(frame(10))
    inserted = QSignalSpy(model.rowsInserted)
    model.upsert(pd.DataFrame({"id": [3, 10], "name": ["x", "new"], "value": [1.0, 2.0]}))
    model._timer.stop()
    model._flush_soon()  # what the timer runs: merged...
    assert model.flushes == 1 and model.pending == 1  # ...but, until the next turn, not yet told
    assert model.rowCount() == 10 and inserted.count() == 0
    qtbot.waitUntil(lambda: model.pending == 0, timeout=2000)
    assert inserted.count() == 1 and model.rowCount() == 11
    assert model.value(3, "name") == "x" and model.value(10, "name") == "new"
    model.upsert(pd.DataFrame({"id": [4], "name": ["y"]}))
    model.flush()  # the explicit flush stays synchronous
    assert model.pending == 0 and model.value(4, "name") == "y"


@pytest.mark.parametrize("kind", ["frame", "blotter"])
def test_columns_fit_their_widest_text_measured_from_the_longest_ones(qtbot, kind: str) -> None:  # type: ignore[no-untyped-def]
    """fit_columns measures only the longest texts of the first rows in pixels; the widths are
    those of the widest text of those rows (plus padding), never below the header's."""
    from widgets.blotter import BlotterModel

    model = (BlotterModel if kind == "blotter" else FrameTableModel)(COLS, key="id")
    df = frame(300)
    df.loc[17, "name"] = "a much longer account name than the others"
    df.loc[250, "name"] = "past the sampled rows, ignored entirely by the sizing"
    model.set_frame(df)
    view = DataTableView(model)
    qtbot.addWidget(view)
    for r in (0, 17, 199):
        for c in range(len(COLS)):
            assert model.display_text(r, c) == model.data(model.index(r, c))
    view.fit_columns()
    fm = view.fontMetrics()
    for c, col in enumerate(COLS):
        texts = [str(model.data(model.index(r, c)) or "") for r in range(200)]
        every = max([fm.horizontalAdvance(col.title) + 28] + [fm.horizontalAdvance(t) + 16 for t in texts])
        assert view.columnWidth(c) == min(every, 360), col.key
    assert view.columnWidth(0) == fm.horizontalAdvance("a much longer account name than the others") + 16
