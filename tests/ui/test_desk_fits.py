"""Every workspace fits a 1280x720 laptop and uses a 2560x1440 screen, in both themes: the window's
minimum size, each dock's size, controls that wrap instead of widening the window, no clipped
label, and the rendered PNG at exactly the size asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QPushButton, QWidget

from tests.ui.helpers import close_window, open_window
from ui.main_window import MainWindow
from ui.screenshot import wait_ready
from ui.workspaces import WORKSPACES, size_class
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar, FlowLayout

USERS = {"pm": "pat.pm", "compliance": "cora.compliance", "trader": "tara.trader", "operations": "otto.ops"}
SIZES = [(1280, 720), (2560, 1440)]


def shown_docks(window: MainWindow) -> dict[str, QWidget]:
    """Docks of the workspace that are on screen (a tab behind another is not)."""
    return {
        n: d
        for n, d in window.docks.items()
        if n in WORKSPACES[window.workspace].docks and d.isVisible() and not d.visibleRegion().isEmpty()
    }


def clipped_controls(root: QWidget) -> list[str]:
    """Visible labels, buttons, combos and line edits narrower than their own minimum, or sticking
    out of the bar they sit in."""
    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisible() or w.visibleRegion().isEmpty():
            continue
        plain = isinstance(w, QLabel) and "<" not in w.text() and w.text().strip()
        if plain and not isinstance(w, ElidedLabel) and not w.wordWrap() and w.objectName() != "emptyState":
            need = w.fontMetrics().horizontalAdvance(w.text().strip())
            if w.contentsRect().width() + 1 < need:
                out.append(f"label {w.text()[:40]!r}: {w.width()} < {need}")
        if isinstance(w, QPushButton | QComboBox | QLineEdit) and w.width() < w.minimumSizeHint().width():
            out.append(f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}: {w.width()} px")
    for bar in root.findChildren(FlowBar):
        if not bar.isVisible():
            continue
        for child in bar.findChildren(QWidget):
            if child.parentWidget() is bar and child.isVisible() and child.geometry().right() > bar.width():
                out.append(
                    f"{type(child).__name__} sticks out of its bar: {child.geometry()} in {bar.width()}"
                )
    return out


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("workspace", ["pm", "compliance", "trader", "operations"])
def test_workspace_fits_a_laptop_and_a_large_screen(qtbot, demo_db, tmp_path: Path, workspace, theme) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, USERS[workspace], tmp_path / "w.ini")
    window.set_theme(theme)
    try:
        for width, height in SIZES:
            window.resize(width, height)
            window.reset_workspace(workspace)
            assert wait_ready(window, 60_000)
            assert (window.width(), window.height()) == (width, height)
            hint = window.minimumSizeHint()
            assert hint.width() <= 1280 and hint.height() <= 720, (width, hint)
            assert window.property("layoutSize") == size_class(width, height)
            docks = shown_docks(window)
            # every dock of the workspace is on screen or a tab next to one that is
            for name in WORKSPACES[workspace].docks:
                dock = window.docks[name]
                assert dock.isVisible() or window.tabifiedDockWidgets(dock), name
            assert docks, "no dock on screen"
            for name, dock in docks.items():
                assert dock.width() >= 250 and dock.height() >= 150, (name, dock.size(), (width, height))
                assert dock.minimumSizeHint().width() <= 640, (name, dock.minimumSizeHint())
            # the role's main grid gets a good part of the screen
            main = {
                "pm": "holdings",
                "compliance": "approvals",
                "trader": "orders",
                "operations": "daycycle",
            }[workspace]
            share = 0.25 if width < 2000 else 0.15  # a large screen shows every dock beside it
            assert docks[main].width() * docks[main].height() >= share * width * height
            assert clipped_controls(window) == []
            image = window.grab().toImage()
            assert (image.width(), image.height()) == (width, height)
    finally:
        close_window(window)


def test_compliance_on_a_laptop_keeps_an_empty_reconciliation_out_of_the_way(
    qtbot, demo_db, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The demo book has no custodian statements: the breaks dock is a tab, not half the screen."""
    window = open_window(qtbot, demo_db, "cora.compliance", tmp_path / "c.ini")
    try:
        window.resize(1280, 720)
        window.reset_workspace("compliance")
        assert wait_ready(window, 60_000)
        recon = window.docks["reconcile"]
        recon.raise_()  # its tab shown: the message says how breaks get here
        qtbot.waitUntil(lambda: recon.loaded and not window.desk.jobs.running, timeout=30_000)
        assert recon.blotter.model.total_rows == 0
        assert "workstation reconcile run" in recon.blotter.stack.label.text()
        window.resize(1600, 960)
        window.reset_workspace("compliance")
        assert wait_ready(window, 60_000)
        qtbot.waitUntil(lambda: recon.visibleRegion().isEmpty(), timeout=10_000)  # gave way to holdings
        assert not window.docks["holdings"].visibleRegion().isEmpty()
        queue = window.docks["approvals"]
        if queue.blotter.model.rowCount() == 0:
            assert "compliance check runs" in queue.rules_stack.label.text()
    finally:
        close_window(window)


def test_flow_bar_wraps_instead_of_widening(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = FlowBar()
    qtbot.addWidget(bar)
    combos = []
    for i in range(5):
        combo = QComboBox()
        combo.addItems(["All", f"a long value number {i}"])
        combos.append(combo)
        bar.add_field(f"Filter {i}:", combo)
    box = QLineEdit()
    box.setMinimumWidth(150)
    bar.add(box)
    one_row = bar.sizeHint().width()
    widest = max(w.minimumSizeHint().width() for w in bar.findChildren(QWidget) if w.parentWidget() is bar)
    assert bar.minimumSizeHint().width() <= widest + 8 < one_row
    heights = {}
    for width in (one_row + 20, one_row // 2, widest + 8):
        bar.resize(width, bar.heightForWidth(width))
        bar.show()
        QApplication.processEvents()
        heights[width] = bar.heightForWidth(width)
        for child in (w for w in bar.findChildren(QWidget) if w.parentWidget() is bar):
            g = child.geometry()
            assert g.left() >= 0 and g.right() < width and g.bottom() < bar.height(), (width, g)
    rows = [len(FlowLayout.rows(bar.flow, w)) for w in heights]
    assert rows[0] == 1 and rows[1] >= 2 and rows[2] >= rows[1]
    assert list(heights.values()) == sorted(heights.values())  # narrower: taller, never clipped


def test_elided_label_never_widens_and_keeps_the_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    text = "200 accounts × 14 buckets; 86 with a bucket beyond its band; colour scale ±4.2 pts"
    label = ElidedLabel(text)
    qtbot.addWidget(label)
    assert label.minimumSizeHint().width() < label.fontMetrics().horizontalAdvance(text) / 4
    label.resize(120, 20)
    assert label.is_elided() and label.toolTip() == text
    label.resize(label.fontMetrics().horizontalAdvance(text) + 10, 20)
    assert not label.is_elided()


def test_screenshot_is_the_size_asked_or_one_error(demo_db, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    from workstation.cli.main import main

    url = demo_db.url.render_as_string(hide_password=False)
    base = [
        "--db",
        url,
        "screenshot",
        "--workspace",
        "compliance",
        "--theme",
        "light",
        "--out",
        str(tmp_path),
    ]
    assert main([*base, "--size", "1280x720"]) == 0
    img = QImage(str(tmp_path / "compliance-light.png"))
    assert (img.width(), img.height()) == (1280, 720)
    capsys.readouterr()
    assert main([*base, "--size", "300x200"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --size 300x200: width 640-7680 and height 480-4320 pixels"]
    assert main([*base, "--size", "wide"]) == 2
    assert capsys.readouterr().err.startswith("error: --size 'wide': expected WIDTHxHEIGHT")


def test_screenshot_at_device_pixel_ratio_2(demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 1280x720 window at scale 2 (a high-DPI laptop) is a 2560x1440 image of the same layout:
    run in its own process, since Qt reads the scale factor when the application starts."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    url = demo_db.url.render_as_string(hide_password=False)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = ["--db", url, "screenshot", "--workspace", "pm", "--theme", "light", "--size", "1280x720"]
    out = subprocess.run(
        [sys.executable, "-m", "workstation.cli.main", *args, "--scale", "2", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    img = QImage(str(tmp_path / "pm-light.png"))
    assert (img.width(), img.height()) == (2560, 1440)
    colours = {img.pixel(x, y) for x in range(0, img.width(), 41) for y in range(0, img.height(), 41)}
    assert len(colours) > 50  # heatmap, charts and tables drawn, not a blank or half window
