"""Transaction cost analysis: aggregates per broker or trader above, every order below.

Read-only, from engine.tca.report.tca_report (what `workstation report tca` prints) in a worker; the
signed-in user needs tca.read (a refusal is shown in the caption). Shortfall and slippage in basis
points, positive = cost; the interval VWAP is the SIMULATED market's (docs/oms.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QComboBox, QDateEdit, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from engine.tca.report import tca_report
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel

DAYS = 7
BPS_TIP = "basis points, positive = cost (for buys and sells), negative = better than the benchmark"


def group_columns(by: str, base: str) -> list[Column]:
    return [
        Column(by, "Broker" if by == "broker" else "Trader"),
        Column("orders", "Orders", "int"),
        Column("fill_rate", "Filled", "pct", tooltip="filled share of the paper notional at arrival"),
        Column("unmeasured", "Unmeasured", "int", tooltip="no arrival price or FX rate: left out of the bps"),
        Column("notional", f"Notional {base}", "amount", tooltip="filled notional in the base currency"),
        Column("shortfall", f"Shortfall {base}", "amount"),
        Column("shortfall_bps", "IS bps", "amount", tooltip="paper-notional weighted; " + BPS_TIP),
        Column("slippage_arrival_bps", "vs arrival bps", "amount", tooltip=BPS_TIP),
        Column("slippage_vwap_bps", "vs VWAP bps", "amount", tooltip="simulated market; " + BPS_TIP),
    ]


ORDER_COLUMNS = [
    Column("cl_ord_id", "ClOrdID"),
    Column("broker", "Broker"),
    Column("trader", "Trader"),
    Column("symbol", "Symbol"),
    Column("side", "Side", "words"),
    Column("status", "Status", "words"),
    Column("quantity", "Quantity", "qty"),
    Column("fill_rate", "Filled", "pct"),
    Column("arrival_px", "Arrival", "price", tooltip="the market's last print when it went to the broker"),
    Column("avg_px", "Avg price", "price"),
    Column("interval_vwap", "Interval VWAP", "price", tooltip="the SIMULATED market from first to last fill"),
    Column("shortfall", "Shortfall", "money", currency_key="currency"),
    Column("shortfall_bps", "IS bps", "amount", tooltip=BPS_TIP),
    Column("slippage_arrival_bps", "vs arrival bps", "amount", tooltip=BPS_TIP),
    Column("slippage_vwap_bps", "vs VWAP bps", "amount", tooltip=BPS_TIP),
    Column("missing", "Not measured", tooltip="inputs the analysis lacks"),
]


def _floats(rows: list[dict[str, Any]], columns: list[Column], *extra: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*(c.key for c in columns), *extra])
    for c in columns:
        if c.numeric:
            frame[c.key] = pd.to_numeric(frame[c.key], errors="coerce").astype(float)
    return frame


def tca_frames(doc: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The report's per-broker, per-trader and per-order tables as the docks show them."""
    base = doc["currency"]
    orders = [{**r, "missing": ", ".join(r["missing"])} for r in doc["orders"]]
    return {
        "broker": _floats(doc["by_broker"], group_columns("broker", base)),
        "trader": _floats(doc["by_trader"], group_columns("trader", base)),
        "orders": _floats(orders, ORDER_COLUMNS, "currency"),
    }


def load_tca(database: Any, username: str, start: date, end: date) -> dict[str, Any]:
    with database.session() as s:
        doc = tca_report(s, username, start, end)
    return {"doc": doc, "frames": tca_frames(doc)}


class TcaPanel(Panel):
    name = "tca"
    title = "Transaction costs"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.base = "USD"
        self.frames: dict[str, pd.DataFrame] = {}
        today = desk.clock.now().date()
        self.date_from = self._date_edit(
            today - timedelta(days=DAYS - 1), "first day (UTC) an order went out"
        )
        self.date_to = self._date_edit(today, "last day (UTC)")
        self.by = QComboBox()
        self.by.addItem("By broker", "broker")
        self.by.addItem("By trader", "trader")
        self.groups = {
            by: Blotter(
                group_columns(by, self.base), by, "No finished orders went to a broker in these dates", []
            )
            for by in ("broker", "trader")
        }
        for by, g in self.groups.items():
            g.view.export_name = f"tca_{by}"
            # a few numeric columns: fitted to their content, not the last one stretched to the edge
            g.view.horizontalHeader().setStretchLastSection(False)
            g.bar.hide()
        self.stack = QStackedWidget()
        for g in self.groups.values():
            self.stack.addWidget(g)
        self.orders = Blotter(
            ORDER_COLUMNS,
            "cl_ord_id",
            "No finished orders in these dates — TCA covers orders sent to a broker and done",
            [("broker", "Broker"), ("trader", "Trader"), ("side", "Side")],
        )
        self.orders.view.export_name = "tca_orders"
        bar = self.orders.bar
        bar.add_field("From:", self.date_from)
        bar.add_field("to:", self.date_to)
        bar.add(self.by)
        flow = bar.flow  # the dates and grouping before the count and the text filter
        for w in (self.orders.count, self.orders.filter):
            flow.removeWidget(w)
            flow.addWidget(w)
        self.caption = ElidedLabel("")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.stack)
        split.addWidget(self.orders)
        split.setSizes([120, 400])
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)
        self.setWidget(body)
        for sig in (self.date_from.dateChanged, self.date_to.dateChanged):
            sig.connect(lambda *_: self.loaded and self.load())
        self.by.currentIndexChanged.connect(lambda *_: self._show_groups())
        self.reload_after("orders", "daycycle")

    @staticmethod
    def _date_edit(day: date, tip: str) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        return edit

    def load(self) -> None:
        lo, hi = self.date_from.date().toPython(), self.date_to.date().toPython()
        lo, hi = min(lo, hi), max(lo, hi)
        user = self.desk.user.username
        self.desk.run(
            "Loading transaction costs",
            lambda _t: load_tca(self.desk.database, user, lo, hi),
            self._loaded,
            self._failed,
        )

    def _failed(self, message: str) -> None:
        self.caption.setText(f"  Transaction costs: {message}")

    def _loaded(self, result: dict[str, Any]) -> None:
        doc = result["doc"]
        self.frames = result["frames"]
        self.orders.model.set_frame(self.frames["orders"])
        self.orders.view.fit_columns()
        self._show_groups()
        t = doc["total"]
        bps = "n/a" if t["shortfall_bps"] is None else f"{t['shortfall_bps']:+.2f} bps"
        self.caption.setText(
            f"  {doc['from']} to {doc['to']} (UTC): {t['orders']} order(s), implementation shortfall {bps} "
            f"(positive = cost, base {doc['currency']}); VWAP of the SIMULATED market"
        )

    def _show_groups(self) -> None:
        by = self.by.currentData()
        self.stack.setCurrentWidget(self.groups[by])
        if by in self.frames:
            self.groups[by].model.set_frame(self.frames[by])
            self.groups[by].view.fit_columns()
