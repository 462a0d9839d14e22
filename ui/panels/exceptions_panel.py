"""The exception queue (PM workspace): proposals over a limit waiting for a second PM's sign-off.

Read from engine.rebalance.exceptions.list_exceptions in a worker; "Sign off…" and "Deny…" ask for a
reason and call engine.rebalance.exceptions.decide as the signed-in user, in a worker (permission,
four eyes and audit are the engine's). A refusal is shown on the status line and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtWidgets import QInputDialog, QVBoxLayout, QWidget

from engine.rebalance.exceptions import decide, list_exceptions
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.elided_label import ElidedLabel

EXCEPTION_COLUMNS = [
    Column("id", "Id", "int"),
    Column("proposal", "Proposal", "int"),
    Column("account", "Account"),
    Column("code", "Limit"),
    Column("status", "Status"),
    Column("created_by", "Proposed by"),
    Column("decided_by", "Decided by"),
    Column("detail", "Over the limit"),
]


def load_queue(database: Any, everything: bool = True) -> pd.DataFrame:
    """Every exception (open first, then decided), one row each."""
    with database.session() as s:
        rows = list_exceptions(s, None if everything else "open")
    frame = pd.DataFrame(rows, columns=[c.key for c in EXCEPTION_COLUMNS])
    frame["decided_by"] = frame["decided_by"].fillna("")
    frame["status"] = frame["status"].str.replace("_", " ")
    return frame.sort_values(
        ["status", "id"], key=lambda c: c.map({"open": 0}).fillna(1) if c.name == "status" else c
    )


class ExceptionsPanel(Panel):
    name = "exceptions"
    title = "Exception queue"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            EXCEPTION_COLUMNS,
            "id",
            "No proposal over a limit — nothing waits for a sign-off",
            [("status", "Status"), ("code", "Limit")],
        )
        self.blotter.view.export_name = self.name

        def is_open(rows: list[dict[str, object]]) -> bool:
            return bool(rows) and all(r.get("status") == "open" for r in rows)

        self.blotter.set_actions(
            [
                RowAction("Sign off…", lambda keys: self.ask("sign_off", keys), is_open),
                RowAction("Deny…", lambda keys: self.ask("deny", keys), is_open),
            ]
        )
        self.caption = ElidedLabel("")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.blotter, 1)
        self.setWidget(body)
        self.reload_after("proposals", "exceptions")

    def load(self) -> None:
        self.desk.run("Loading the exception queue", lambda _t: load_queue(self.desk.database), self._loaded)

    def _loaded(self, frame: pd.DataFrame) -> None:
        self.blotter.model.set_frame(frame)
        self.blotter.view.fit_columns()
        n_open = int((frame["status"] == "open").sum()) if len(frame) else 0
        self.caption.setText(
            f"  {n_open} proposal(s) over a limit wait for a sign-off by a PM other than their creator; "
            f"{len(frame) - n_open} decided"
        )

    def ask(self, decision: str, keys: list[object]) -> None:
        """Ask for the reason, then decide every selected exception."""
        word = "Sign off" if decision == "sign_off" else "Deny"
        reason, ok = QInputDialog.getText(
            self, f"{word} {len(keys)} exception(s)", "Reason (kept in the audit trail):"
        )
        if ok and reason.strip():
            self.decide(decision, keys, reason)

    def decide(self, decision: str, keys: list[object], reason: str) -> None:
        """Decide in a worker as the signed-in user; reload either way."""
        ids = [int(str(k)) for k in keys]
        user = self.desk.user.username
        database = self.desk.database

        def run(_t: object) -> list[str]:
            out = []
            for i in ids:
                with database.transaction() as s:
                    out.append(decide(s, user, i, decision, reason))
            return out

        def done(states: list[str]) -> None:
            self.desk.message.emit(
                f"{len(states)} exception(s) {', '.join(sorted(set(states))).replace('_', ' ')}"
            )
            self.load()
            self.desk.data_changed.emit("exceptions")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not {decision.replace('_', ' ')}: {msg}")
            self.load()

        self.desk.run(f"{decision} {len(ids)} exception(s)", run, done, failed)
