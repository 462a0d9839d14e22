"""The order ticket: a new order for an account, a list, a household or a model, or the amendment
of one live order (cancel/replace), keyboard first.

F9 on the trader workspace opens it; Tab walks the fields in reading order; Enter checks (sizing
and the pre-trade compliance verdict per account, in a worker) and, once the check is shown and
nothing changed since, Enter sends: the orders are created through the OMS as the signed-in user
(orders.create, audited) and routed (orders.route). Orders compliance blocks are left out and said
so; a ticket whose every order is blocked cannot be sent. Esc cancels. Opened on a live order
(Shift+F9) only the quantity and limit can change, sent through the OMS's replace path.
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.oms.strategies import broker_strategies
from ui.desk import Desk
from ui.oms_link import OmsLink
from ui.replace_dialog import parse_amount
from ui.ticket import form
from ui.ticket.lines import LINE_COLUMNS, OUTCOME_COLORS, LiveOrder, lines_frame
from widgets.formatting import fmt_price, fmt_qty
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView


class TicketDialog(QDialog):
    """New order or cancel/replace. `plan` is the last checked ticket; `sent` the created ids."""

    def __init__(
        self,
        desk: Desk,
        link: OmsLink,
        parent: QWidget | None = None,
        *,
        amend: LiveOrder | None = None,
        dark: bool = False,
    ) -> None:
        super().__init__(parent)
        self.desk, self.link, self.amend, self.dark = desk, link, amend, dark
        self.plan: Any = None
        self.stale = True
        self.busy = False
        self.sent: list[int] = []
        self.setObjectName("ticket")
        self.setWindowTitle(
            "Order ticket" if amend is None else f"Cancel/replace {amend.cl_ord_id} — order ticket"
        )
        self._build()
        self._wire()
        if amend is not None:
            self._fill_from(amend)
        else:
            self._load_choices()
        self._on_type()
        self._on_size()
        self._mark_stale()

    # ---- layout --------------------------------------------------------------------------------
    def _combo(self, items: list[tuple[str, str]]) -> QComboBox:
        c = QComboBox()
        for label, value in items:
            c.addItem(label, value)
        return c

    def _build(self) -> None:
        self.scope = self._combo(form.SCOPES)
        self.keys = QLineEdit()
        self.keys.setPlaceholderText("account code(s), household or model code")
        self.security = QLineEdit()
        self.security.setPlaceholderText("symbol, ISIN, CUSIP or SEDOL")
        self.resolved = QLabel("")
        self.resolved.setObjectName("resolved")
        self.side = self._combo([("Buy", "buy"), ("Sell", "sell")])
        self.size_kind = self._combo(form.SIZES)
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("shares, % or amount")
        self.currency = QComboBox()
        self.currency.setMinimumContentsLength(4)
        self.order_type = self._combo(form.TYPES)
        self.limit = QLineEdit()
        self.limit.setPlaceholderText("limit price")
        self.stop = QLineEdit()
        self.stop.setPlaceholderText("stop price")
        self.tif = self._combo(form.TIFS)
        self.expire = QDateEdit()
        self.expire.setCalendarPopup(True)
        self.expire.setDisplayFormat("yyyy-MM-dd")
        today = self.desk.clock.now().date()
        self.expire.setDate(QDate(today.year, today.month, today.day).addDays(7))
        self.broker = QComboBox()
        self.strategy = QComboBox()
        self.params = QLineEdit()
        self.params.setPlaceholderText("name=value;name=value")
        self.lines = FrameTableModel(LINE_COLUMNS, key="account")
        self.lines.background_fn = self._outcome_colour
        self.table = DataTableView(self.lines)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab stays on the fields
        self.table.setMinimumHeight(120)
        self.summary = QLabel("Enter checks the ticket; Enter again sends it. Esc cancels.")
        self.summary.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff6b6b" if self.dark else "color: #c0392b")
        self.check_button = QPushButton("Check")
        self.send_button = QPushButton("Send")
        self.cancel_button = QPushButton("Cancel")
        for b in (self.check_button, self.send_button, self.cancel_button):
            b.setAutoDefault(False)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        row = 0

        def add(label: str, w: QWidget, col: int = 0, span: int = 1) -> None:
            grid.addWidget(QLabel(label), row, col)
            grid.addWidget(w, row, col + 1, 1, span)

        add("For:", self.scope)
        add("Accounts:", self.keys, 2)
        row += 1
        add("Security:", self.security)
        grid.addWidget(self.resolved, row, 2, 1, 2)
        row += 1
        add("Side:", self.side)
        sized = QHBoxLayout()
        sized.setContentsMargins(0, 0, 0, 0)
        sized.addWidget(self.amount, 1)
        sized.addWidget(self.currency)
        holder = QWidget()
        holder.setLayout(sized)
        grid.addWidget(self.size_kind, row, 2)
        grid.addWidget(holder, row, 3)
        row += 1
        add("Type:", self.order_type)
        add("Limit:", self.limit, 2)
        row += 1
        add("Stop:", self.stop)
        add("Time in force:", self.tif, 2)
        row += 1
        add("Expires (GTD):", self.expire)
        add("Broker:", self.broker, 2)
        row += 1
        add("Strategy:", self.strategy)
        add("Parameters:", self.params, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        order = [self.scope, self.keys, self.security, self.side, self.size_kind, self.amount, self.currency,
                 self.order_type, self.limit, self.stop, self.tif, self.expire, self.broker, self.strategy,
                 self.params]  # fmt: skip
        for a, b in itertools.pairwise(order):
            QWidget.setTabOrder(a, b)
        self.fields = order
        self.resize(760, 520)

    def _wire(self) -> None:
        self.check_button.clicked.connect(lambda _c=False: self.check())
        self.send_button.clicked.connect(lambda _c=False: self.send())
        self.cancel_button.clicked.connect(self.reject)
        self.order_type.currentIndexChanged.connect(lambda _i: self._on_type())
        self.tif.currentIndexChanged.connect(lambda _i: self._on_type())
        self.size_kind.currentIndexChanged.connect(lambda _i: self._on_size())
        self.broker.currentIndexChanged.connect(lambda _i: self._on_broker())
        self.security.editingFinished.connect(self._resolve)
        for w in self.fields:
            if isinstance(w, QLineEdit):
                w.textEdited.connect(lambda _t: self._mark_stale())
            elif isinstance(w, QComboBox):
                w.currentIndexChanged.connect(lambda _i: self._mark_stale())
            elif isinstance(w, QDateEdit):
                w.dateChanged.connect(lambda _d: self._mark_stale())

    # ---- field logic ---------------------------------------------------------------------------
    def _value(self, combo: QComboBox) -> str:
        return str(combo.currentData() if combo.currentData() is not None else combo.currentText())

    def _on_type(self) -> None:
        t = self._value(self.order_type)
        self.limit.setEnabled(
            t in form.HAS_LIMIT and (self.amend is None or self.amend.order_type in form.HAS_LIMIT)
        )
        self.stop.setEnabled(t in form.HAS_STOP and self.amend is None)
        on_close = t in ("market_on_close", "limit_on_close")
        if on_close and self._value(self.tif) != "day":
            self.tif.setCurrentIndex(0)  # on-close orders are day orders
        self.tif.setEnabled(not on_close and self.amend is None)
        self.expire.setEnabled(self._value(self.tif) == "gtd" and self.amend is None)

    def _on_size(self) -> None:
        self.currency.setEnabled(self._value(self.size_kind) == "notional" and self.amend is None)

    def _on_broker(self) -> None:
        broker = self.broker.currentText()
        current = self.strategy.currentText()
        self.strategy.blockSignals(True)
        self.strategy.clear()
        self.strategy.addItem("")
        self.strategy.addItems(sorted(n for b, n in broker_strategies() if b == broker))
        self.strategy.setCurrentText(current if self.strategy.findText(current) >= 0 else "")
        self.strategy.blockSignals(False)

    def _mark_stale(self) -> None:
        self.stale = True
        self._buttons()

    def _buttons(self) -> None:
        ready = self.amend is not None or (self.plan is not None and not self.stale and self._sendable())
        self.send_button.setEnabled(ready and not self.busy)
        self.check_button.setEnabled(self.amend is None and not self.busy)

    def _sendable(self) -> bool:
        p = self.plan
        return bool(p is not None and p.checked and len(p.orders) > len(p.blocked))

    def _outcome_colour(self, model: FrameTableModel, row: int) -> Any:
        from PySide6.QtGui import QColor

        outcome = model._data.get("outcome")
        colour = OUTCOME_COLORS[self.dark].get(str(outcome[row])) if outcome is not None else None
        return QColor(colour) if colour else None

    def _load_choices(self) -> None:
        configured = list(self.link.configured)
        offered = sorted({b for b, _n in broker_strategies()})
        brokers = configured + [b for b in offered if b not in configured]
        self.broker.addItems(brokers)
        self._on_broker()

        def fetch(_t: object) -> dict[str, list[str]]:
            from engine.ticket.accounts import scope_choices

            with self.desk.database.session() as s:
                return scope_choices(s)

        def done(choices: dict[str, list[str]]) -> None:
            self.choices = choices
            completer = QCompleter(choices["account"] + choices["household"] + choices["model"], self)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.keys.setCompleter(completer)
            self.currency.blockSignals(True)
            self.currency.addItems(choices["currency"])
            self.currency.setCurrentText(
                "USD" if "USD" in choices["currency"] else self.currency.currentText()
            )
            self.currency.blockSignals(False)

        self.desk.run("Loading ticket choices", fetch, done, lambda _m: None)

    def _fill_from(self, o: LiveOrder) -> None:
        """An amendment: the order's terms, only quantity and limit editable (the replace path)."""
        self.scope.setCurrentIndex(0)
        self.keys.setText(o.account)
        self.security.setText(o.symbol)
        self.side.setCurrentIndex(0 if o.side == "buy" else 1)
        self.amount.setText(form.decimal_text(o.quantity))
        idx = self.order_type.findData(o.order_type)
        self.order_type.setCurrentIndex(max(idx, 0))
        self.limit.setText(form.decimal_text(o.limit_price))
        self.stop.setText(form.decimal_text(o.stop_price))
        idx = self.tif.findData(o.time_in_force)
        self.tif.setCurrentIndex(max(idx, 0))
        self.broker.addItem(o.broker)
        for w in (self.scope, self.keys, self.security, self.side, self.size_kind, self.currency,
                  self.order_type, self.stop, self.tif, self.expire, self.broker, self.strategy, self.params):  # fmt: skip
            w.setEnabled(False)
        self.resolved.setText(f"{fmt_qty(o.filled)} filled of {fmt_qty(o.quantity)}")
        self.summary.setText(
            "Change the quantity or limit; Enter sends the cancel/replace (a looser one is re-checked "
            "by compliance). Stop and time in force cannot be amended: cancel and enter a new order."
        )
        self.amount.setFocus()
        self.amount.selectAll()

    # ---- resolve, check, send (every engine call in a worker) ----------------------------------
    def _resolve(self) -> None:
        text = self.security.text().strip()
        if not text or self.amend is not None:
            return

        def fetch(_t: object) -> str:
            from engine.ticket.lookup import find_security

            with self.desk.database.session() as s:
                x = find_security(s, text)
            how = "" if x.matched == "symbol" else f" (by {x.matched})"
            return f"{x.symbol}{how}: {x.name} — {x.venue} ({x.mic}), {x.currency}, lot {x.lot_size:,}"

        self.desk.run("Finding security", fetch, self.resolved.setText, self.resolved.setText)

    def request(self) -> Any:
        """The ticket as an engine TicketRequest (ValueError names the field)."""
        from engine.ticket.accounts import split_codes

        return form.request_from(
            scope=self._value(self.scope),
            keys=split_codes(self.keys.text()),
            security=self.security.text().strip(),
            side=self._value(self.side),
            size_kind=self._value(self.size_kind),
            amount=self.amount.text(),
            currency=self.currency.currentText() or None,
            order_type=self._value(self.order_type),
            limit=self.limit.text(),
            stop=self.stop.text(),
            tif=self._value(self.tif),
            expire=self.expire.date().toPython() if self.expire.isEnabled() else None,  # type: ignore[arg-type]
            broker=self.broker.currentText(),
            strategy=self.strategy.currentText(),
            params=self.params.text(),
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
            return
        super().keyPressEvent(event)

    def submit(self) -> None:
        """Enter: amend, or check, or (checked and unchanged) send."""
        if self.busy:
            return
        if self.amend is not None:
            self.send_replace()
        elif self.plan is None or self.stale:
            self.check()
        else:
            self.send()

    def _busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        if text:
            self.summary.setText(text)
        self._buttons()

    def check(self) -> None:
        """Size the ticket and ask compliance about each account's order (worker thread)."""
        try:
            req = self.request()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        user, clock, db = self.desk.user.username, self.desk.clock, self.desk.database

        def run(_t: object) -> Any:
            from engine.ticket.service import check, plan

            with db.session() as s:
                return check(s, plan(s, req, clock), user, clock)

        def done(p: Any) -> None:
            self.plan, self.stale = p, False
            self._show_plan(p)
            self._busy(False)

        def failed(msg: str) -> None:
            self.plan = None
            self.lines.set_frame(pd.DataFrame(columns=[c.key for c in LINE_COLUMNS]))
            self.error.setText(msg)
            self._busy(False, "Fix the ticket and press Enter to check it again.")

        self._busy(True, "Checking…")
        self.desk.run("Checking ticket", run, done, failed)

    def _show_plan(self, p: Any) -> None:
        ccy = p.listing.currency
        frame = lines_frame(p)
        self.lines.set_frame(frame)
        self.table.setColumnHidden(2, p.request.size.kind != "percent")  # account value: % sizing only
        self.table.fit_columns()
        x = p.listing
        self.resolved.setText(f"{x.symbol}: {x.name} — {x.venue} ({x.mic}), {x.currency}, lot {x.lot_size:,}")
        n, blocked = len(p.orders), len(p.blocked)
        text = f"{n} order(s) at {fmt_price(p.price)} {ccy} (close {p.price_date})"
        if p.fx_note:
            text += f"; FX {p.fx_note}"
        if blocked:
            text += f". Compliance BLOCKS {blocked}: {'they are left out' if blocked < n else 'nothing can be sent'}"
        if n and blocked < n:
            text += ". Enter sends."
        if not n:
            text += ". Nothing to send."
        self.summary.setText(text)

    def send(self) -> None:
        """Create the checked, unblocked orders through the OMS and route them (worker thread)."""
        p = self.plan
        if p is None or self.stale:
            self.error.setText("check the ticket first (Enter)")
            return
        if not self._sendable():
            self.error.setText("Send refused: compliance blocks every order of this ticket")
            return
        blocked = {ln.account for ln in p.blocked}
        drafts = [d for d in p.drafts() if d.account not in blocked]
        user, link = self.desk.user.username, self.link

        def run(_t: object) -> tuple[list[int], Any]:
            def both() -> tuple[list[int], Any]:
                ids = link.manager.create(drafts, user)
                return ids, link.manager.route(ids, username=user)

            return link.call(both)

        def done(result: tuple[list[int], Any]) -> None:
            ids, routed = result
            self.sent = ids
            text = f"ticket: {len(ids)} order(s) created, {len(routed.sent)} sent"
            if routed.held:
                text += f", {len(routed.held)} held until their market opens"
            if routed.skipped:
                text += f", {len(routed.skipped)} not routed"
            if blocked:
                text += f"; {len(blocked)} left out (compliance block: {', '.join(sorted(blocked))})"
            self.desk.message.emit(text)
            self._busy(False)
            self.accept()

        def failed(msg: str) -> None:
            self.error.setText(f"Send refused: {msg}")
            self._busy(False)

        self._busy(True, "Sending…")
        self.desk.run("Sending ticket", run, done, failed)

    def send_replace(self) -> None:
        """The amendment through the OMS's cancel/replace (a looser one may be held by compliance)."""
        o = self.amend
        assert o is not None
        try:
            qty = parse_amount(self.amount.text(), "quantity")
            assert qty is not None
            px = parse_amount(self.limit.text(), "limit price") if self.limit.isEnabled() else None
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        if float(qty) <= o.filled:
            self.error.setText(f"quantity: must exceed the {fmt_qty(o.filled)} already filled")
            return
        user, link = self.desk.user.username, self.link

        def done(cid: object) -> None:
            terms = fmt_qty(qty) + (f" @ {fmt_price(px)}" if px is not None else "")
            self.desk.message.emit(f"replace {cid} sent: {terms}")
            self._busy(False)
            self.accept()

        def failed(msg: str) -> None:
            self.error.setText(f"Cancel/replace refused: {msg}")
            self._busy(False)

        self._busy(True, "Sending cancel/replace…")
        self.desk.run("Cancel/replace", lambda _t: link.replace(o.id, qty, px, user), done, failed)
