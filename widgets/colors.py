"""Colours the tables share: configurable up/down (gain/loss) colours and order status colours."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor


@dataclass
class UpDown:
    """Gain and loss colours. Some desks use red for up (East Asian convention), so both are settable."""

    up: QColor
    down: QColor

    @classmethod
    def default(cls, dark: bool = False) -> UpDown:
        if dark:
            return cls(QColor("#4cc38a"), QColor("#ff6b6b"))
        return cls(QColor("#0a7d3b"), QColor("#c62828"))

    def for_value(self, value: float) -> QColor | None:
        if value > 0:
            return self.up
        if value < 0:
            return self.down
        return None


# Status -> (light background, dark background). Unknown statuses keep the default background.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "new": ("#e3f2fd", "#1c3550"),
    "pending_new": ("#e3f2fd", "#1c3550"),
    "draft": ("#f5f5f5", "#2e2e2e"),
    "held": ("#fff8e1", "#4a3d12"),
    "pending_approval": ("#fff8e1", "#4a3d12"),
    "approved": ("#e8f5e9", "#1b3d26"),
    "released": ("#e0f7fa", "#123f45"),
    "sent": ("#e0f7fa", "#123f45"),
    "working": ("#e0f7fa", "#123f45"),
    "partially_filled": ("#fff3e0", "#4d3315"),
    "filled": ("#e8f5e9", "#1b3d26"),
    "done_for_day": ("#eceff1", "#33393d"),
    "pending_cancel": ("#fce4ec", "#4a1f2d"),
    "pending_replace": ("#fce4ec", "#4a1f2d"),
    "canceled": ("#eeeeee", "#333333"),
    "cancelled": ("#eeeeee", "#333333"),
    "expired": ("#eeeeee", "#333333"),
    "rejected": ("#ffebee", "#4d1a1a"),
}


def status_color(status: str, dark: bool = False) -> QColor | None:
    pair = STATUS_COLORS.get(status.lower())
    return QColor(pair[1] if dark else pair[0]) if pair else None


# Compliance rule outcome -> (light background, dark background): worst reddest; passes plain.
OUTCOME_COLORS: dict[str, tuple[str, str]] = {
    "block": ("#ffcdd2", "#5c1f24"),
    "flag": ("#ffe0b2", "#553a17"),
    "warn": ("#fff9c4", "#4a4516"),
}


def outcome_color(outcome: str, dark: bool = False) -> QColor | None:
    pair = OUTCOME_COLORS.get(outcome.lower())
    return QColor(pair[1] if dark else pair[0]) if pair else None
