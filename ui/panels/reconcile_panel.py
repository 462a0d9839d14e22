"""Compliance reconciliation dock: custodian breaks with type, explanation and status, filters, a
drill-down (statement lines, book lots, pending trades, comments), and working a break."""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QLabel, QMainWindow, QScrollArea, QSplitter, QWidget

from engine.views import reconcile as recon
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.formatting import fmt_money, fmt_price, fmt_qty

if TYPE_CHECKING:
    from engine.reconcile.queries import BreakDetail

BREAK_COLUMNS = [
    Column("id", "Break", "int"),
    Column("status", "Status"),
    Column("type", "Type"),
    Column("custodian", "Custodian"),
    Column("account", "Account"),
    Column("security", "Security"),
    Column("currency", "Ccy"),
    Column("book", "Book", "qty"),
    Column("statement", "Custodian", "qty", tooltip="the custodian's settled figure"),
    Column("difference", "Difference", "qty", signed=True),
    Column("age", "Age (bd)", "int", tooltip="business days open, on the market's calendar"),
    Column("owner", "Owner"),
    Column("explanation", "Explanation"),
    Column("resolution", "Resolution"),
    Column("opened_on", "Opened"),
]
WORKING = ("open", "investigating", "explained")


MONEY_KEYS = frozenset({"amount", "market_value"})
PRICE_KEYS = frozenset({"unit_cost", "price"})
QTY_KEYS = frozenset({"quantity"})


def _cell(row: dict[str, object], key: str) -> str:
    """A detail cell as a desk reads it: quantities plain (400, not 400.000000), money to its
    currency's minor units, prices as in the grids; the rest as given."""
    value = row.get(key)
    if value is None or value == "":
        return ""
    if isinstance(value, str) and key in MONEY_KEYS | PRICE_KEYS | QTY_KEYS:
        try:
            value = Decimal(value)
        except InvalidOperation:
            return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        ccy = row.get("currency")
        if key in MONEY_KEYS and isinstance(ccy, str) and ccy:
            return fmt_money(value, ccy)
        if key in PRICE_KEYS:
            return fmt_price(value)
        if key in QTY_KEYS:
            return fmt_qty(value)
    return str(value)


def _table(rows: list[dict[str, object]], keys: list[str]) -> str:
    if not rows:
        return ""
    right = MONEY_KEYS | PRICE_KEYS | QTY_KEYS
    head = "".join(f"<th align='{'right' if k in right else 'left'}'>{k}</th>" for k in keys)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td align='{'right' if k in right else 'left'}'>{html.escape(_cell(r, k))}</td>" for k in keys
        )
        + "</tr>"
        for r in rows
    )
    return f"<table cellspacing='0' cellpadding='2'><tr>{head}</tr>{body}</table>"


def _dec(v: object) -> str:
    """A Decimal without trailing zeros (7.0000 -> 7), or a dash."""
    return "—" if v is None else format(v.normalize(), ",f")  # type: ignore[attr-defined]


def detail_html(d: BreakDetail) -> str:
    """The drill-down as rich text: the break, the custodian's lines, the book side, the trail."""
    r = d.row
    parts = [
        f"<b>Break {r.id}</b> · {r.type} · <b>{r.status}</b>"
        + (f" ({r.resolution})" if r.resolution else "")
        + f" · {r.custodian} · {r.account} · {r.security or r.currency or ''}"
        + f" · owner {r.owner or 'nobody'} · opened {r.opened_on}, {r.age} business day(s)",
        f"Book {_dec(r.book)} · custodian {_dec(r.statement)} · difference {_dec(r.difference)}",
    ]
    if r.explanation:
        parts.append(f"<i>{html.escape(r.explanation)}</i>")
    sections = (
        ("Custodian statement", d.statement_lines, ["row", "custodian_account", "security_ref", "quantity", "currency", "amount", "market_value"]),
        ("Book lots", d.lots, ["lot_ref", "quantity", "unit_cost", "acquired"]),
        ("Pending trades", d.pending_trades, ["source_ref", "side", "quantity", "price", "trade_date", "settle_date"]),
        ("Pending cash", d.pending_cash, ["amount", "kind", "trade_date", "settle_date", "note"]),
        ("Corporate actions", d.corporate_actions, ["ref", "kind", "ex_date", "ratio", "applied"]),
        ("Comments", d.comments, ["at", "author", "text"]),
        ("Adjustments", d.adjustments, ["id", "kind", "status", "author", "approver", "booking_ref"]),
    )  # fmt: skip
    for title, rows, keys in sections:
        if rows:
            present = [k for k in keys if any(k in x for x in rows)]
            parts.append(f"<b>{title}</b>" + _table(rows, present))
    return "<br>".join(parts)


class ReconcilePanel(Panel):
    name = "reconcile"
    title = "Reconciliation breaks"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            BREAK_COLUMNS,
            "id",
            "No reconciliation breaks. They appear here once custodian statements are loaded "
            "(`workstation reconcile load FILE --custodian NAME`) and compared with the book "
            "(`workstation reconcile run --as-of DATE`)",
            [("status", "Status"), ("type", "Type"), ("custodian", "Custodian"), ("owner", "Owner")],
        )
        me = desk.user.username
        working = lambda rows: bool(rows) and all(r.get("status") != "resolved" for r in rows)  # noqa: E731
        self.blotter.set_actions(
            [
                RowAction(f"Assign to me ({me})", lambda keys: self.work(keys, "assign", me), working),
                RowAction("Assign to…", lambda keys: self._ask(keys, "assign", "Owner (username):"), working),
                RowAction("Investigate", lambda keys: self.work(keys, "investigate"), working),
                RowAction("Comment…", lambda keys: self._ask(keys, "comment", "Comment:")),
                RowAction(
                    "Resolve: custodian error…",
                    lambda keys: self._ask(keys, "resolve_custodian_error", "Note:", optional=True),
                    working,
                ),
                RowAction(
                    "Resolve: timing…",
                    lambda keys: self._ask(keys, "resolve_timing", "Note:", optional=True),
                    working,
                ),
                RowAction("Reopen", lambda keys: self.work(keys, "reopen")),
            ]
        )
        self.detail = QLabel("Select a break to see the custodian's lines beside the book's lots and trades.")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setContentsMargins(6, 4, 6, 4)
        scroll = QScrollArea()
        scroll.setWidget(self.detail)
        scroll.setWidgetResizable(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.blotter)
        split.addWidget(scroll)
        split.setSizes([330, 170])
        self.setWidget(split)
        self.reload_after("daycycle")  # a close books, revalues and reconciles
        self.break_id: int | None = None
        self.break_count: int | None = None
        self.blotter.view.selectionModel().currentRowChanged.connect(
            lambda cur, _p: cur.isValid() and self.show_break(int(self.blotter.model.value(cur.row(), "id")))
        )

    def load(self) -> None:
        def done(frame: pd.DataFrame) -> None:
            self.blotter.model.set_frame(frame)
            self.blotter.view.fit_columns()
            self.break_count = len(frame)
            if frame.empty:
                self._give_way()
            model = self.blotter.model
            row = model.view_row_of_key(self.break_id) if self.break_id is not None else -1
            if row < 0 and model.rowCount():
                working = [
                    r
                    for r in range(model.rowCount())
                    if model.value(r, "status") in ("open", "investigating")
                ]
                row = working[0] if working else 0
            if row >= 0:
                self.blotter.view.setCurrentIndex(model.index(row, 0))  # shows it (currentRowChanged)

        self.desk.run("Loading breaks", lambda _t: recon.breaks(self.desk.database), done)

    def has_content(self) -> bool:
        """False once a load has come back without a single break (layouts then show its tab
        sibling); True before (a load in flight may still bring breaks)."""
        return self.break_count != 0

    def _give_way(self) -> None:
        """No breaks: when tabbed with another dock, show that one (an empty dock never fills
        the screen); the tab stays, and its message says how breaks get here."""
        window = self.parentWidget()
        if isinstance(window, QMainWindow) and self.isVisible():
            siblings = [d for d in window.tabifiedDockWidgets(self) if not d.isHidden()]
            if siblings:
                siblings[0].raise_()

    def show_break(self, break_id: int) -> None:
        self.break_id = break_id

        def show(d: BreakDetail) -> None:
            if d.row.id == self.break_id:
                self.detail.setText(detail_html(d))

        self.desk.run("Loading break", lambda _t: recon.detail(self.desk.database, break_id), show)

    def _ask(self, keys: list[object], action: str, prompt: str, optional: bool = False) -> None:
        text, ok = QInputDialog.getText(self, self.title, prompt)
        if ok and (optional or text.strip()):
            self.work(keys, action, text.strip())

    def work(self, keys: list[object], action: str, value: str = "") -> None:
        """Apply the workflow action to the selected breaks in a worker (all or none), then reload."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if not ids:
            return
        user = self.desk.user.username

        def done(n: int) -> None:
            self.desk.message.emit(f"{action.replace('_', ' ')}: {n} break(s)")
            self.load()
            self.desk.data_changed.emit("audit")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not {action.replace('_', ' ')} (nothing changed): {msg}")
            self.load()

        self.desk.run(
            f"Break {action.replace('_', ' ')}",
            lambda _t: recon.work(self.desk.database, user, ids, action, value),
            done,
            failed,
        )

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()
