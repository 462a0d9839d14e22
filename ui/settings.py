"""Per-user preferences and dock layouts in QSettings (INI in the user config dir; tests redirect it).

Keys: users/<name>/theme, users/<name>/up_colour, users/<name>/down_colour,
users/<name>/layout/{geometry,state,workspace} (the last session), and
users/<name>/workspaces/<workspace name>/{geometry,state,base} (named, saved by the user).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORG = "sma-workstation"
APP = "workstation"


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


class UserSettings:
    """One user's slice of QSettings."""

    def __init__(self, username: str, store: QSettings | None = None) -> None:
        self.username = username
        self.store = store or settings()
        self.prefix = f"users/{username}"

    def get(self, key: str, default: str = "") -> str:
        value = self.store.value(f"{self.prefix}/{key}", default)
        return str(value) if value is not None else default

    def set(self, key: str, value: str) -> None:
        self.store.setValue(f"{self.prefix}/{key}", value)
        self.store.sync()

    def save_layout(self, name: str | None, geometry: QByteArray, state: QByteArray, base: str) -> None:
        """Save the dock layout as the last session (name None) or as a named workspace."""
        group = f"{self.prefix}/layout" if name is None else f"{self.prefix}/workspaces/{name}"
        self.store.setValue(f"{group}/geometry", geometry)
        self.store.setValue(f"{group}/state", state)
        self.store.setValue(f"{group}/base", base)
        self.store.sync()

    def load_layout(self, name: str | None) -> tuple[QByteArray, QByteArray, str] | None:
        group = f"{self.prefix}/layout" if name is None else f"{self.prefix}/workspaces/{name}"
        state = self.store.value(f"{group}/state")
        if state is None:
            return None
        geometry = self.store.value(f"{group}/geometry") or QByteArray()
        return QByteArray(geometry), QByteArray(state), str(self.store.value(f"{group}/base", "pm"))

    def workspace_names(self) -> list[str]:
        self.store.beginGroup(f"{self.prefix}/workspaces")
        try:
            return sorted(self.store.childGroups())
        finally:
            self.store.endGroup()

    def delete_workspace(self, name: str) -> None:
        self.store.remove(f"{self.prefix}/workspaces/{name}")
        self.store.sync()
