"""Every grid of the desk has the same right-click menu (its own commands, open, copy, export,
filter by this value, clear, columns), a column chooser on its header, and Ctrl+F reaches the
filter box of the panels that have one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt

from tests.ui.helpers import close_window, open_window
from ui.screenshot import wait_ready
from widgets.table_view import DataTableView

STANDARD = ["Copy", "Export visible rows", "Clear filters", "Columns"]


def menu_texts(view: DataTableView, row: int = 0) -> list[str]:
    index = view.model().index(row, 0)
    view.setCurrentIndex(index)
    return [a.text() for a in view.context_menu(index).actions() if a.text()]


def test_every_grid_in_every_workspace_has_the_menu(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seen = 0
    for user, ws in (("pat.pm", "pm"), ("cora.compliance", "compliance"), ("tara.trader", "trader")):
        window = open_window(qtbot, demo_db, user, tmp_path / f"{ws}.ini")
        try:
            for panel in window.docks.values():  # every dock, shown or not
                panel.show()
                panel.refresh()
            assert wait_ready(window, 60_000)
            for view in window.findChildren(DataTableView):
                texts = (
                    menu_texts(view)
                    if view.model().rowCount()
                    else [
                        a.text() for a in view.context_menu(view.model().index(-1, -1)).actions() if a.text()
                    ]
                )
                for entry in STANDARD:
                    assert entry in texts, (type(view.parent()).__name__, texts)
                if view.model().rowCount():
                    assert any(t.startswith("Filter: ") for t in texts), texts
                seen += 1
        finally:
            close_window(window)
    assert seen >= 15


def test_filter_by_value_columns_and_export(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, "pat.pm", tmp_path / "p.ini")
    try:
        grid = window.docks["holdings"].grid
        view, model = grid.views["accounts"], grid.models["accounts"]
        assert menu_texts(view)[0] == "Open account (Enter)"  # drill first
        models = model.column_values("model").tolist()
        col = next(i for i, c in enumerate(model.columns) if c.key == "model")
        row = models.index("GROWTH") if "GROWTH" in models else 0
        value = models[row]
        menu = view.context_menu(model.index(row, col))
        action = next(a for a in menu.actions() if a.text().startswith("Filter: Model = "))
        assert action.text() == f"Filter: Model = {value}"
        action.trigger()
        assert model.rowCount() == models.count(value) >= 1
        assert set(model.column_values("model").tolist()) == {value}
        assert grid.count.text() == f"{models.count(value):,} of {len(models):,} rows"
        next(
            a for a in view.context_menu(model.index(0, 0)).actions() if a.text() == "Clear filters"
        ).trigger()
        assert model.rowCount() == len(models)
        # column chooser: hide Household, the export and the copy leave it out
        chooser = view.columns_menu()
        hh = next(a for a in chooser.actions() if a.text() == "Household")
        assert hh.isChecked()
        hh.setChecked(False)
        assert view.isColumnHidden(next(i for i, c in enumerate(model.columns) if c.key == "household"))
        assert grid.export(tmp_path / "a.csv") == len(models)
        written = pd.read_csv(tmp_path / "a.csv")
        assert "Household" not in written.columns and "Model" in written.columns
        view.selectAll()
        assert "Household" not in grid.copy().splitlines()[0].split("\t")
        for a in view.columns_menu().actions():  # the last column can never be hidden
            if a.isCheckable():
                a.setChecked(False)
        assert len(view.shown_keys()) == 1
        view.show_all_columns()
        # Ctrl+F reaches the filter box
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(grid.filter.hasFocus, timeout=5_000)
    finally:
        close_window(window)


def test_blotter_filters_by_value_through_its_combo(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, "pat.pm", tmp_path / "b.ini")
    try:
        panel = window.docks["proposals"]
        panel.show()
        panel.raise_()
        panel.refresh()
        assert wait_ready(window, 60_000)
        blotter = panel.blotter
        blotter.model.upsert(
            pd.DataFrame(
                {
                    "id": [9001, 9002, 9003],
                    "status": ["accepted", "rejected", "accepted"],
                    "mode": ["full"] * 3,
                    "batch": ["abcd1234"] * 3,
                }
            )
        )
        blotter.model.flush()
        blotter.refresh_choices()
        status_col = next(i for i, c in enumerate(blotter.model.columns) if c.key == "status")
        row = blotter.model.view_row_of_key(9002)
        blotter.view.filter_by(blotter.model.index(row, status_col))
        assert blotter.combos["status"].currentText() == "rejected"
        assert set(blotter.model.column_values("status").tolist()) == {"rejected"}
        blotter.view.filters_cleared.emit()
        assert blotter.combos["status"].currentText() == "All" and blotter.model.rowCount() >= 3
        blotter.view.setFocus()
        qtbot.keyClick(blotter.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(blotter.filter.hasFocus, timeout=5_000)
    finally:
        close_window(window)


def test_column_choice_is_kept_per_user(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ini = tmp_path / "cols.ini"
    window = open_window(qtbot, demo_db, "pat.pm", ini)
    try:
        view = window.docks["holdings"].grid.views["accounts"]
        col = next(i for i, c in enumerate(view.frame_model().columns) if c.key == "household")
        view.set_column_shown(col, False)
    finally:
        close_window(window)
    again = open_window(qtbot, demo_db, "pat.pm", ini)
    try:
        view = again.docks["holdings"].grid.views["accounts"]
        assert view.hidden_keys() == ["household"]
        view.show_all_columns()
    finally:
        close_window(again)
    third = open_window(qtbot, demo_db, "pat.pm", ini)
    try:
        assert third.docks["holdings"].grid.views["accounts"].hidden_keys() == []
    finally:
        close_window(third)
