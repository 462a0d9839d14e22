"""Route to a broker chosen now: a small keyboard chooser of the desk's configured FIX sessions."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QWidget

OWN = "Each order's own broker"


def choose_broker(parent: QWidget | None, sessions: list[str], what: str) -> str | None:
    """The session to route `what` ("2 selected orders", "all released orders") to: a session name,
    "" for each order's own broker, or None when the trader cancels (Esc)."""
    items = [OWN, *sessions]
    choice, ok = QInputDialog.getItem(
        parent, "Route to broker", f"Route {what} to:", items, 1 if sessions else 0, False
    )
    if not ok:
        return None
    return "" if choice == OWN else str(choice)
