"""Trader panels over the real trading tables: orders and executions (LiveTablePanel is shared).

Live path: engine events carrying `order_id(s)` / `execution_id(s)` make the panel re-read just
those rows in a worker and `upsert` them; the model's 100 ms timer coalesces the redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from engine.events import Event
from engine.oms.service import RouteResult
from engine.views import trading
from ui.desk import Desk
from ui.oms_link import OmsLink, link_of
from ui.panels.base import Panel
from ui.replace_dialog import ReplaceDialog
from ui.ticket import broker_chooser
from ui.ticket.dialog import TicketDialog
from ui.ticket.lines import live_order
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.formatting import fmt_price, fmt_qty

EXEC_TYPES = {
    "0": "New",
    "3": "Done for day",
    "4": "Canceled",
    "5": "Replaced",
    "6": "Pending cancel",
    "8": "Rejected",
    "A": "Pending new",
    "C": "Expired",
    "D": "Restated",
    "E": "Pending replace",
    "F": "Trade",
    "G": "Trade correct",
    "H": "Trade cancel",
    "I": "Order status",
}
ORDER_COLUMNS = [
    Column("cl_ord_id", "ClOrdID"),
    Column("kind", "Kind"),
    Column("parent", "Block"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side", "words"),
    Column("quantity", "Quantity", "qty"),
    Column("order_type", "Type", "words"),
    Column("limit_price", "Limit", "price"),
    Column("stop_price", "Stop", "price"),
    Column("time_in_force", "TIF", "words"),
    Column("broker", "Broker"),
    Column("strategy", "Strategy", "words"),
    Column("mic", "Market"),
    Column("status", "Status", "words"),
    Column("cum_qty", "Filled", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg price", "price"),
    Column("currency", "Ccy"),
    Column("updated_at", "Updated", "datetime"),
    Column("created_by", "Trader"),
    Column("note", "Note", tooltip="the outcome of the last desk command on this order"),
]
EXEC_COLUMNS = [
    Column("received_at", "Received", "datetime"),
    Column("cl_ord_id", "ClOrdID"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side", "words"),
    Column("broker", "Broker"),
    Column("exec_id", "ExecID"),
    Column("exec_type_name", "ExecType"),
    Column("status", "OrdStatus", "words"),
    Column("last_qty", "Last qty", "qty"),
    Column("last_px", "Last px", "price"),
    Column("cum_qty", "Cum qty", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg px", "price"),
    Column("currency", "Ccy"),
    Column("mic", "Market"),
]
ORD_STATUS = {
    "0": "new",
    "1": "partially_filled",
    "2": "filled",
    "3": "done_for_day",
    "4": "canceled",
    "6": "pending_cancel",
    "8": "rejected",
    "A": "pending_new",
    "C": "expired",
    "E": "pending_replace",
}
CANCELLABLE = frozenset(
    {"pending_approval", "held", "released", "in_block", "pending_new", "new", "partially_filled"}
)
REPLACEABLE = frozenset({"new", "partially_filled"})
SHOW_ALLOCATIONS = "allocations:"
"""desk.data_changed message prefix: the allocations dock shows the block ClOrdID that follows."""


def _all_status(allowed: Iterable[str]) -> Callable[[list[dict[str, object]]], bool]:
    ok = frozenset(allowed)
    return lambda rows: bool(rows) and all(r.get("status") in ok for r in rows)


def no_price_unfilled(frame: pd.DataFrame) -> pd.DataFrame:
    """An order (or report) with nothing filled has no average price, and a report that is not a
    fill no last price: blank, not 0.00."""
    if len(frame):
        frame = frame.assign(avg_px=frame["avg_px"].where(frame["cum_qty"].fillna(0) > 0))
        if "last_px" in frame:
            frame = frame.assign(last_px=frame["last_px"].where(frame["last_qty"].fillna(0) > 0))
    return frame


def exec_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Executions with the FIX 4.4 names of ExecType and OrdStatus."""
    out = no_price_unfilled(frame).copy()
    out["exec_type_name"] = [f"{t} {EXEC_TYPES.get(str(t), '?')}" for t in out["exec_type"]]
    out["status"] = [ORD_STATUS.get(str(s), str(s)) for s in out["ord_status"]]
    return out


def _ids(events: Iterable[Event], single: str, plural: str) -> set[int]:
    ids: set[int] = set()
    for e in events:
        v = getattr(e, single, None)
        if isinstance(v, int):
            ids.add(v)
        many = getattr(e, plural, None)
        if isinstance(many, list | tuple | set | frozenset):
            ids.update(int(x) for x in many if isinstance(x, int))
    return ids


@dataclass(frozen=True, kw_only=True)
class OrdersChangedElsewhere(Event):
    """Orders another desk changed, as the shared change feed reports them."""

    order_ids: tuple[int, ...] = ()


class LiveTablePanel(Panel):
    """A blotter fed by a full load, then by keyed re-reads of the rows named in engine events."""

    id_attrs = ("order_id", "order_ids")
    empty = ""
    filters: list[tuple[str, str]] = []
    columns: list[Column] = []

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(self.columns, "id", self.empty, self.filters)
        self.blotter.view.export_name = self.name
        self.setWidget(self.blotter)
        self._dirty: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)
        self._busy = False  # a read (whole table or keyed rows) is in flight
        self._full_due = False  # a whole-table load was asked while one was in flight
        self.reads = 0  # reads started (full and keyed), for tests and benchmarks
        desk.bridge.batch.connect(self._on_events)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        raise NotImplementedError

    def load(self) -> None:
        link = getattr(self.desk, "oms", None)  # only if already made: no OMS is built here
        label = str(getattr(link, "label", "") or "")
        if label.startswith("SIMULATED"):
            self.setWindowTitle(f"{self.title} — SIMULATED broker, not a real one")
        self._read(f"Loading {self.title.lower()}", lambda _t: self.fetch(None), self._loaded, full=True)

    def _read(
        self, name: str, fn: Callable[[object], object], on_done: Callable[[Any], None], full: bool = False
    ) -> bool:
        """Start a read unless one is in flight: then a whole-table load is remembered for when it
        returns (one, however many were asked) and changed ids stay queued. So reads never pile up
        behind a long job on the desk's two worker threads, and a reply never overtakes a later one."""
        if self._busy:
            self._full_due = self._full_due or full
            return False
        self._busy = True
        self.reads += 1
        if full:
            self._full_due = False

        def done(result: object) -> None:
            self._busy = False
            try:
                on_done(result)
            finally:
                self._next()

        def failed(msg: str) -> None:
            self._busy = False
            self.desk.message.emit(f"{name}: {msg}")
            self._next()

        self.desk.run(name, fn, done, failed)
        return True

    def _next(self) -> None:
        if self._full_due:
            self.load()
        elif self._has_dirty() and not self._timer.isActive():
            self._timer.start()

    def _has_dirty(self) -> bool:
        return bool(self._dirty)

    def _tick(self) -> None:
        if not self._busy and self._has_dirty():  # else the read in flight re-arms the timer
            self._reload_dirty()

    def _loaded(self, frame: pd.DataFrame) -> None:
        self.blotter.model.set_frame(frame)
        self.blotter.view.fit_columns()

    def _on_events(self, events: list[Event]) -> None:
        ids = _ids(events, *self.id_attrs)
        if ids and self.loaded:
            self._dirty |= ids
            if not self._timer.isActive():
                self._timer.start()

    def changed_elsewhere(self, order_ids: Iterable[int]) -> None:
        """Re-read just the rows of orders another desk changed (from the shared feed)."""
        self._on_events([OrdersChangedElsewhere(order_ids=tuple(order_ids))])

    def reread(self, ids: Iterable[int]) -> None:
        """Re-read just these rows (keys of this panel's own table), coalesced by the 100 ms timer."""
        if self.loaded:
            self._dirty |= set(ids)
            if not self._timer.isActive():
                self._timer.start()

    def _reload_dirty(self) -> None:
        ids, self._dirty = sorted(self._dirty), set()
        self._read(f"Updating {self.title.lower()}", lambda _t: self.fetch(ids), self.blotter.model.upsert)

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()


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


class ExecutionsPanel(LiveTablePanel):
    name = "executions"
    title = "Execution blotter"
    columns = EXEC_COLUMNS
    id_attrs = ("execution_id", "execution_ids")
    filters = [("status", "Status"), ("broker", "Broker"), ("mic", "Market"), ("account", "Account")]
    empty = "No executions yet — fills from brokers appear here as they arrive"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self._orders: set[int] = set()
        super().__init__(desk, parent)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return exec_frame(trading.executions(self.desk.database, ids))

    def _loaded(self, frame: pd.DataFrame) -> None:
        super()._loaded(frame)
        self.blotter.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest report first

    def _on_events(self, events: list[Event]) -> None:
        # The OMS publishes OrderChanged(order_id) after each fill: re-read that order's executions.
        orders = _ids(events, "order_id", "order_ids")
        if orders and self.loaded:
            self._orders |= orders
            if not self._timer.isActive():
                self._timer.start()
        super()._on_events(events)

    def _reload_dirty(self) -> None:
        orders, self._orders = sorted(self._orders), set()
        ids, self._dirty = sorted(self._dirty), set()

        def fetch(_t: object) -> pd.DataFrame:
            frames = [trading.executions(self.desk.database, ids)] if ids else []
            if orders:
                frames.append(trading.executions(self.desk.database, order_ids=orders))
            return (
                exec_frame(pd.concat(frames, ignore_index=True))
                if frames
                else exec_frame(trading.executions(self.desk.database, []))
            )

        self._read("Updating executions", fetch, self.blotter.model.upsert)

    def _has_dirty(self) -> bool:
        return bool(self._dirty or self._orders)
