"""The shell: login from the users table, role workspaces, layouts saved per user (QSettings in a
temp dir), named workspaces, themes and up/down colours, no-display message, screenshot command."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from engine.compliance.approvals import PENDING
from engine.compliance.tables import ApprovalCase
from engine.store.people import User
from tests.ui.helpers import close_window, open_window
from ui.login import LoginDialog
from ui.settings import UserSettings, settings
from ui.theme import palettes
from workstation.app import run_desktop
from workstation.cli.main import main


def visible_docks(window) -> set[str]:  # type: ignore[no-untyped-def]
    return {name for name, d in window.docks.items() if not d.isHidden()}


def test_login_lists_demo_users_and_checks_a_stored_password(qtbot, demo_db) -> None:  # type: ignore[no-untyped-def]
    with demo_db.transaction() as s:
        if s.scalars(select(User).where(User.username == "pw.pm")).first() is None:
            s.add(
                User(
                    username="pw.pm",
                    display_name="PW",
                    role="portfolio_manager",
                    password_hash=PasswordHasher().hash("s3cret"),
                )
            )
    dialog = LoginDialog(demo_db)
    qtbot.addWidget(dialog)
    names = {dialog.combo.itemData(i) for i in range(dialog.combo.count())}
    assert {"pat.pm", "tara.trader", "cora.compliance", "cole.compliance", "ada.admin"} <= names
    dialog.choose("tara.trader")
    assert not dialog.password.isEnabled()
    dialog.try_login()
    assert dialog.user is not None and dialog.user.role == "trader" and dialog.user.workspace == "trader"
    dialog = LoginDialog(demo_db)
    qtbot.addWidget(dialog)
    dialog.choose("pw.pm")
    assert dialog.password.isEnabled()
    dialog.password.setText("wrong")
    dialog.try_login()
    assert dialog.user is None and "Wrong" in dialog.error.text()
    dialog.password.setText("s3cret")
    dialog.try_login()
    assert dialog.user is not None and dialog.user.username == "pw.pm"


def test_layouts_are_saved_per_user_and_named_workspaces_load_and_reset(qtbot, demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ini = tmp_path / "layouts.ini"
    window = open_window(qtbot, demo_db, "cora.compliance", ini)
    assert visible_docks(window) == {
        "approvals",
        "audit",
        "reconcile",
        "holdings",
        "killswitch",
        "stale",
        "tca",
    }
    # The queue shows the stored pending cases and nothing else: an empty state when there are none
    # (the session's demo book may hold cases other tests opened).
    with demo_db.session() as s:
        pending = s.scalar(
            select(func.count()).select_from(ApprovalCase).where(ApprovalCase.state == PENDING)
        )
    blotter = window.docks["approvals"].blotter
    qtbot.waitUntil(lambda: blotter.model.rowCount() == pending, timeout=30_000)
    assert blotter.stack.showing_message == (pending == 0)
    window.docks["audit"].close()
    window.docks["clock"].show()
    window.save_layout("mine")
    window.reset_workspace("compliance")
    assert visible_docks(window) == {
        "approvals",
        "audit",
        "reconcile",
        "holdings",
        "killswitch",
        "stale",
        "tca",
    }
    assert window.restore_layout("mine")
    assert visible_docks(window) == {
        "approvals",
        "reconcile",
        "holdings",
        "killswitch",
        "stale",
        "tca",
        "clock",
    }
    assert window.settings.workspace_names() == ["mine"]
    close_window(window)  # saves the last layout for this user
    again = open_window(qtbot, demo_db, "cora.compliance", ini, restore=True)
    assert visible_docks(again) == {
        "approvals",
        "reconcile",
        "holdings",
        "killswitch",
        "stale",
        "tca",
        "clock",
    }
    close_window(again)
    other = open_window(qtbot, demo_db, "pat.pm", ini, restore=True)  # another user: own default
    assert {"drift", "fx", "holdings"} <= visible_docks(other)
    close_window(other)


def test_default_qsettings_live_in_the_redirected_temp_dir(settings_dir: Path) -> None:
    us = UserSettings("someone", settings())
    us.set("theme", "dark")
    assert Path(settings().fileName()).is_relative_to(settings_dir)
    assert UserSettings("someone", settings()).get("theme") == "dark"


def test_dark_theme_and_custom_gain_colour(qtbot, demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, "pat.pm", tmp_path / "t.ini")
    window.settings.set("up_colour_dark", "#ff00ff")
    window.set_theme("dark")
    pal = QApplication.instance().palette()
    assert pal.color(QPalette.ColorRole.Window) == QColor(palettes()["dark"]["Window"])
    model = window.docks["holdings"].grid.models["accounts"]
    assert model.updown.up == QColor("#ff00ff")
    col = [c.key for c in model.columns].index("unrealized_lt")
    row = next(r for r in range(model.rowCount()) if model.value(r, "unrealized_lt") > 0)
    assert model.data(model.index(row, col), 9) == QColor("#ff00ff")  # ForegroundRole
    window.set_theme("light")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Window) == QColor(
        palettes()["light"]["Window"]
    )
    close_window(window)


def test_without_a_display_one_line_points_to_screenshot(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert run_desktop(None) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "workstation screenshot" in err[0] and "QT_QPA_PLATFORM=offscreen" in err[0]
    assert main(["desktop"]) == 2


@pytest.mark.parametrize("theme", ["dark"])
def test_screenshot_command_renders_a_workspace(demo_db, tmp_path, theme: str, capsys) -> None:  # type: ignore[no-untyped-def]
    url = demo_db.url.render_as_string(hide_password=False)
    rc = main(
        [
            "--db",
            url,
            "screenshot",
            "--workspace",
            "pm",
            "--theme",
            theme,
            "--out",
            str(tmp_path),
            "--size",
            "1200x800",
        ]
    )
    assert rc == 0
    png = tmp_path / f"pm-{theme}.png"
    assert str(png) in capsys.readouterr().out
    img = QImage(str(png))
    assert (img.width(), img.height()) == (1200, 800)  # exactly the size asked
    colours = {img.pixel(x, y) for x in range(0, img.width(), 37) for y in range(0, img.height(), 37)}
    assert len(colours) > 50  # a heatmap and tables, not a blank window
    window_bg = QColor(palettes()[theme]["Window"])
    from collections import Counter

    bottom = Counter(img.pixel(x, img.height() - 2) for x in range(img.width()))
    common = QColor(bottom.most_common(1)[0][0])  # the status bar: the theme's window colour
    assert abs(common.lightness() - window_bg.lightness()) < 30
