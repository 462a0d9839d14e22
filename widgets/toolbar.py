"""Small helpers for panel toolbars: a quick filter box and icon buttons with tooltips."""

from __future__ import annotations

from collections.abc import Callable

import qtawesome as qta
from PySide6.QtWidgets import QLineEdit, QToolButton, QWidget


def icon_button(
    icon: str, tip: str, slot: Callable[[], object], parent: QWidget | None = None
) -> QToolButton:
    button = QToolButton(parent)
    button.setIcon(qta.icon(icon))
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.clicked.connect(lambda _checked=False: slot())
    return button


def filter_box(placeholder: str, slot: Callable[[str], object], parent: QWidget | None = None) -> QLineEdit:
    box = QLineEdit(parent)
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)
    box.setMaximumWidth(260)
    box.textChanged.connect(slot)
    return box
