"""Small helpers for panel toolbars: a quick filter box and icon buttons with tooltips."""

from __future__ import annotations

from collections.abc import Callable

import qtawesome as qta
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QToolButton, QWidget

ICON_PROPERTY = "qtaIcon"


def themed_icon(name: str) -> QIcon:
    """An icon in the current palette's text colour (qtawesome caches icons by name and options,
    so the colour is passed explicitly rather than through its global defaults)."""
    pal = QApplication.palette()
    return qta.icon(
        name,
        color=pal.color(QPalette.ColorRole.ButtonText).name(),
        color_disabled=pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name(),
    )


def refresh_icons(root: QWidget) -> None:
    """Redraw every icon button under `root` in the current qtawesome colour (after a theme change)."""
    for button in root.findChildren(QToolButton):
        name = button.property(ICON_PROPERTY)
        if name:
            button.setIcon(themed_icon(str(name)))


def icon_button(
    icon: str, tip: str, slot: Callable[[], object], parent: QWidget | None = None
) -> QToolButton:
    button = QToolButton(parent)
    button.setProperty(ICON_PROPERTY, icon)
    button.setIcon(themed_icon(icon))
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def filter_box(placeholder: str, slot: Callable[[str], object], parent: QWidget | None = None) -> QLineEdit:
    box = QLineEdit(parent)
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)
    box.setMaximumWidth(260)
    box.setMinimumWidth(150)
    box.textChanged.connect(slot)
    return box
