"""Fusion style with a light and a dark palette (resources/ui/palettes.json) and themed icons."""

from __future__ import annotations

import json
from functools import cache

import qtawesome as qta
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

import resources

THEMES = ("light", "dark")


@cache
def palettes() -> dict[str, dict[str, str]]:
    return json.loads(resources.path("ui", "palettes.json").read_text(encoding="utf-8"))


def make_palette(theme: str) -> QPalette:
    spec = palettes()[theme]
    pal = QPalette()
    for role_name, colour in spec.items():
        role = getattr(QPalette.ColorRole, role_name, None)
        if role is not None:
            pal.setColor(role, QColor(colour))
    disabled = QColor(spec["PlaceholderText"])
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


def apply_theme(app: QApplication, theme: str) -> None:
    """Fusion plus the palette; icons drawn in the theme's icon colour."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES}, not {theme!r}")
    app.setStyle("Fusion")
    app.setPalette(make_palette(theme))
    qta.set_defaults(color=palettes()[theme]["icon"], color_disabled=palettes()[theme]["PlaceholderText"])


def updown_defaults(theme: str) -> tuple[str, str]:
    spec = palettes()[theme]
    return spec["up"], spec["down"]
