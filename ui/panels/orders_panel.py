"""The order blotter: live orders with the trader's commands (cancel, replace, release, route)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from engine.oms.service import RouteResult
from engine.views import trading
from ui.desk import Desk
from ui.oms_link import OmsLink, link_of
from ui.panels.live_table import LiveTablePanel
from ui.panels.trade_columns import (
    CANCELLABLE,
    ORDER_COLUMNS,
    REPLACEABLE,
    SHOW_ALLOCATIONS,
    _all_status,
    no_price_unfilled,
)
from ui.replace_dialog import ReplaceDialog
from ui.ticket import broker_chooser
from ui.ticket.dialog import TicketDialog
from ui.ticket.lines import live_order
from widgets.blotter import RowAction
from widgets.formatting import fmt_price, fmt_qty


class OrdersPanel(LiveTablePanel):
    name = "orders"
    title = "Order blotter"
    columns = ORDER_COLUMNS
    filters = [
        ("status", "Status"),
        ("broker", "Broker"),
        ("mic", "Market"),
        ("account", "Account"),
        ("kind", "Kind"),
    ]
    empty = "No orders yet — orders appear here when approved proposals are released to trading"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.notes: dict[int, str] = {}
        self.blotter.set_actions(
            [
                RowAction("Cancel", self.cancel, _all_status(CANCELLABLE), shortcut="Del"),
                RowAction(
                    "Cancel/replace…",
                    self.ask_replace,
                    lambda rows: len(rows) == 1 and rows[0].get("status") in REPLACEABLE,
                    shortcut="Ctrl+R",
                ),
                RowAction(
                    "Release held order or approved replace",
                    self.release,
                    _all_status({"held"} | REPLACEABLE),  # a working order may hold a replace
                    shortcut="Ctrl+L",
                ),
                RowAction("Route to broker", self.route, _all_status({"released"}), shortcut="Ctrl+Return"),
                RowAction(
                    "Route to a chosen broker…",
                    self.route_chosen,
                    lambda rows: not rows or all(r.get("status") == "released" for r in rows),
                    shortcut="Ctrl+Alt+Return",
                ),
                RowAction(
                    "Route all released orders",
                    self.route_all,
                    lambda _rows: True,
                    shortcut="Ctrl+Shift+Return",
                ),
                RowAction(
                    "Show block and children", self.show_block, lambda rows: len(rows) == 1, shortcut="Ctrl+B"
                ),
                RowAction(
                    "Show allocations",
                    self.show_allocations,
                    lambda rows: len(rows) == 1,
                    shortcut="Ctrl+Shift+A",
                ),
            ]
        )
        self.blotter.view.doubleClicked.connect(
            lambda idx: self.show_block([self.blotter.model.value(idx.row(), "id")])
        )
        self.ticket: TicketDialog | None = None
        # The ticket's keys answer anywhere in the window while the order blotter is shown.
        for text, key, slot in (
            ("New order ticket", "F9", self.open_ticket),
            ("Amend the selected order in the ticket", "Shift+F9", self.amend_in_ticket),
        ):
            act = QAction(text, self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _c=False, f=slot: f())
            self.addAction(act)

    # ---- the order ticket (F9 new, Shift+F9 amend the selected live order) ----------------------
    def open_ticket(self) -> TicketDialog:
        """Open the order ticket for a new order (modeless: the blotter stays live behind it)."""
        return self._show_ticket(TicketDialog(self.desk, link_of(self.desk), self, dark=self.blotter.dark))

    def amend_in_ticket(self) -> TicketDialog | None:
        """Open the ticket on the one selected live order: its quantity and limit can change."""
        rows = self.blotter.selected_rows()
        if len(rows) != 1 or rows[0].get("status") not in REPLACEABLE:
            self.desk.message.emit("Amend: select one working order (new or partially filled)")
            return None
        dialog = TicketDialog(
            self.desk, link_of(self.desk), self, amend=live_order(rows[0]), dark=self.blotter.dark
        )
        return self._show_ticket(dialog)

    def _show_ticket(self, dialog: TicketDialog) -> TicketDialog:
        if self.ticket is not None:
            self.ticket.close()
        self.ticket = dialog
        dialog.setModal(False)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.keys.setFocus() if dialog.amend is None else dialog.amount.setFocus()
        return dialog

    # ---- the trader's commands, sent to the OMS service on its engine thread ---------------------
    def _outcome(self, ids: list[int], text: str) -> None:
        """Show a command's outcome in the status bar and in the orders' Note column."""
        self.desk.message.emit(text)
        for oid in ids:
            self.notes[oid] = text
        if ids:
            self.blotter.model.upsert(pd.DataFrame({"id": ids, "note": [text] * len(ids)}))

    def _command(
        self, name: str, ids: list[int], fn: Callable[[OmsLink], object], ok: Callable[[object], str]
    ) -> None:
        link = link_of(self.desk)
        self.desk.run(
            name,
            lambda _t: fn(link),
            lambda result: self._outcome(ids, ok(result)),
            lambda msg: self._outcome(ids, f"{name} refused: {msg}"),
        )

    def cancel(self, keys: list[object]) -> None:
        """Cancel the selected orders (a block's cancel reaches its children)."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        user = self.desk.user.username
        self._command(
            "Cancel",
            ids,
            lambda link: link.cancel(ids, user),
            lambda _r: f"cancel requested for {len(ids)} order(s)",
        )

    def ask_replace(self, keys: list[object]) -> None:
        """Open the cancel/replace dialog for one order, then send its new terms."""
        if len(keys) != 1:
            return
        m = self.blotter.model
        row = m.view_row_of_key(keys[0])
        if row < 0:
            return
        limit = m.value(row, "limit_price")
        dialog = ReplaceDialog(
            str(m.value(row, "cl_ord_id")),
            str(m.value(row, "symbol")),
            str(m.value(row, "side")),
            float(m.value(row, "quantity")),
            float(m.value(row, "cum_qty") or 0),
            None if limit is None or pd.isna(limit) else float(limit),
            m.value(row, "order_type") == "limit",
            self,
        )
        if dialog.exec() != ReplaceDialog.DialogCode.Accepted:
            return
        qty, px = dialog.terms()
        self.replace(int(keys[0]), qty, px)  # type: ignore[call-overload]

    def replace(self, order_id: int, quantity: Decimal, limit_price: Decimal | None) -> None:
        """Send a cancel/replace; a loosened one may be held by compliance (shown as the outcome)."""
        user = self.desk.user.username
        terms = fmt_qty(quantity) + (f" @ {fmt_price(limit_price)}" if limit_price is not None else "")
        self._command(
            "Cancel/replace",
            [order_id],
            lambda link: link.replace(order_id, quantity, limit_price, user),
            lambda cid: f"replace {cid} sent: {terms}",
        )

    def release(self, keys: list[object]) -> None:
        """Send held orders now (the broker must accept orders while their market is closed), and
        held replaces compliance has approved (still held ones say why)."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        user = self.desk.user.username

        def ok(r: object) -> str:
            assert isinstance(r, RouteResult)
            text = f"released: {len(r.sent)} sent, {len(r.held)} held, {len(r.skipped)} skipped"
            return text + "".join(f"; {why}" for why in r.refused.values())

        self._command("Release", ids, lambda link: link.release(ids, user), ok)

    def route(self, keys: list[object]) -> None:
        """Route the selected released orders to their brokers (held if their market is closed)."""
        self._route([int(k) for k in keys])  # type: ignore[call-overload]

    def route_all(self, _keys: list[object]) -> None:
        """Route every released order of the book to its broker."""
        self._route(None)

    def route_chosen(self, keys: list[object]) -> None:
        """Route the selected released orders (all released ones with no selection) to a broker
        session chosen now, or each to its own."""
        ids = [int(k) for k in keys] or None  # type: ignore[call-overload]
        link = link_of(self.desk)
        what = f"{len(ids)} selected order(s)" if ids else "all released orders"
        broker = broker_chooser.choose_broker(self, list(link.configured), what)
        if broker is None:
            return
        self._route(ids, broker or None)

    def _route(self, ids: list[int] | None, broker: str | None = None) -> None:
        user = self.desk.user.username

        def ok(r: object) -> str:
            assert isinstance(r, RouteResult)
            if not (r.sent or r.held or r.skipped):
                return "routed: no released order to route"
            text = f"routed: {len(r.sent)} sent" + (f" to {broker}" if broker else "")
            if r.held:
                text += f", {len(r.held)} held until their market opens (Ctrl+L sends them now)"
            if r.skipped:
                whys = sorted(set(r.refused.values()))
                text += f", {len(r.skipped)} refused ({'; '.join(whys)})"
            return text

        def done(result: object) -> None:
            assert isinstance(result, RouteResult)
            self._outcome(sorted({*result.sent, *result.held, *result.skipped, *(ids or [])}), ok(result))

        link = link_of(self.desk)
        self.desk.run(
            "Route",
            lambda _t: link.route_as(ids, user, broker),
            done,
            lambda msg: self._outcome(ids or [], f"Route refused: {msg}"),
        )

    def _block_of(self, key: object) -> str | None:
        row = self.blotter.model.view_row_of_key(key)
        if row < 0:
            return None
        m = self.blotter.model
        parent = m.value(row, "parent")
        return str(m.value(row, "cl_ord_id") if parent is None or pd.isna(parent) or not parent else parent)

    def show_allocations(self, keys: list[object]) -> None:
        """Open the allocations dock on this order's block (or the lone order)."""
        block = self._block_of(keys[0]) if keys else None
        if block:
            self.desk.data_changed.emit(SHOW_ALLOCATIONS + block)

    def show_block(self, keys: list[object]) -> None:
        """Filter to a block and its children (by the block's ClOrdID)."""
        block = self._block_of(keys[0]) if keys else None
        if block:
            self.blotter.model.set_text_filter(block)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        frame = no_price_unfilled(trading.orders(self.desk.database, ids))
        notes = dict(self.notes)
        frame["note"] = [notes.get(int(i), "") for i in frame["id"]]
        return frame
