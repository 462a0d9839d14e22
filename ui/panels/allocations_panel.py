"""Allocations dock: block orders → their children's allocations (quantity and average price per
account), live as blocks finish; the order blotter's "Show allocations" filters it to one block."""

from __future__ import annotations

import pandas as pd
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from engine.views.allocations import allocations, block_summary
from ui.desk import Desk
from ui.panels.trading_panels import SHOW_ALLOCATIONS, LiveTablePanel
from widgets.columns import Column
from widgets.formatting import fmt_price, fmt_qty

ALLOCATION_COLUMNS = [
    Column("block", "Block"),
    Column("child", "Child order"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Allocated", "qty"),
    Column("avg_px", "Avg price", "price"),
    Column("currency", "Ccy"),
    Column("block_filled", "Block filled", "qty"),
    Column("block_qty", "Block qty", "qty"),
    Column("trade_date", "Trade date"),
    Column("settle_date", "Settles"),
    Column("booked", "Booked", tooltip="booked into the account's lots and cash by accounting"),
]


class AllocationsPanel(LiveTablePanel):
    name = "allocations"
    title = "Allocations"
    columns = ALLOCATION_COLUMNS
    filters = [("block", "Block"), ("account", "Account"), ("booked", "Booked")]
    empty = "No allocations yet — a block's fills are allocated to its accounts when the block is done"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.summary = QLabel("")
        self.summary.setContentsMargins(6, 2, 6, 2)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.blotter, 1)
        layout.addWidget(self.summary)
        self.setWidget(body)
        m = self.blotter.model
        for sig in (m.modelReset, m.rowsInserted, m.rowsRemoved, m.dataChanged):
            sig.connect(self._summarise)
        desk.data_changed.connect(self._show_block)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return allocations(self.desk.database, ids)

    def _summarise(self, *_: object) -> None:
        m = self.blotter.model
        if not m.rowCount():
            self.summary.setText("")
            return
        frame = pd.DataFrame(
            {
                k: m.column_values(k)
                for k in ("block", "account", "quantity", "avg_px", "block_filled", "currency")
            }
        )
        s = block_summary(frame)
        parts = [
            f"{r.block}: {fmt_qty(r.allocated)} of {fmt_qty(r.filled)} filled to {r.accounts} account(s)"
            f" @ {fmt_price(r.avg_px)}"
            for r in s.itertuples()
        ]
        more = f" (+{len(parts) - 3} more blocks)" if len(parts) > 3 else ""
        self.summary.setText(" · ".join(parts[:3]) + more)

    def _show_block(self, what: str) -> None:
        if what.startswith(SHOW_ALLOCATIONS):
            self.show()
            self.raise_()
            if not self.loaded:
                self.refresh()
            self.blotter.model.set_text_filter(what[len(SHOW_ALLOCATIONS) :])
