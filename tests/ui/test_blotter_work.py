"""The blotter at work, on the real Blotter and model offscreen: columns widen to content arriving in
batches (one throttled fit per burst, not one per row), statuses and codes are words while the model
keeps the codes, buy and sell are coloured in both themes, an unfilled order has no average price."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt

from ui.panels.trading_panels import ORDER_COLUMNS, no_price_unfilled
from widgets.blotter import SIDE_COLORS, Blotter
from widgets.formatting import words


def frame(start: int, n: int, cl: str = "WS-short") -> pd.DataFrame:
    ids = list(range(start, start + n))
    return pd.DataFrame(
        {
            "id": ids,
            "cl_ord_id": [f"{cl}-{i}" for i in ids],
            "side": ["buy" if i % 2 else "sell" for i in ids],
            "status": ["partially_filled"] * n,
            "order_type": ["stop_limit"] * n,
            "time_in_force": ["gtc"] * n,
            "quantity": [100.0] * n,
            "cum_qty": [0.0 if i % 3 == 0 else 50.0 for i in ids],
            "avg_px": [0.0 if i % 3 == 0 else 10.5 for i in ids],
        }
    )


def test_words() -> None:
    assert [words(x) for x in ("partially_filled", "pending_new", "canceled", "gtc", "stop_limit", "buy")] == [
        "Partially filled", "Pending new", "Cancelled", "GTC", "Stop limit", "Buy",
    ]  # fmt: skip


def test_columns_fit_batches_colours_and_no_price_unfilled(qtbot) -> None:  # type: ignore[no-untyped-def]
    b = Blotter(ORDER_COLUMNS, "id", "none", [("status", "Status")])
    qtbot.addWidget(b)
    b.resize(1400, 500)
    b.show()
    b.model.set_frame(no_price_unfilled(frame(0, 3)))
    qtbot.waitUntil(lambda: b.fits >= 1, timeout=5_000)
    col = [c.key for c in ORDER_COLUMNS].index("cl_ord_id")
    narrow = b.view.columnWidth(col)
    fits = b.fits
    for k in range(5):  # a burst of five batches of rows with longer ClOrdIDs
        b.model.upsert(no_price_unfilled(frame(100 + 10 * k, 10, cl="WS-mxd2f9zw-d795d029-long")))
        b.model.flush()
    qtbot.waitUntil(lambda: b.fits > fits, timeout=5_000)
    qtbot.wait(900)
    assert b.fits - fits <= 2  # throttled: not one fit per batch, let alone per row
    wide = b.view.columnWidth(col)
    text = b.model.data(b.model.index(b.model.view_row_of_key(100), col))
    assert wide > narrow and wide >= b.view.fontMetrics().horizontalAdvance(str(text))
    m = b.model
    row = m.view_row_of_key(1)
    status, side = (
        [c.key for c in ORDER_COLUMNS].index("status"),
        [c.key for c in ORDER_COLUMNS].index("side"),
    )
    assert m.data(m.index(row, status)) == "Partially filled" and m.value(row, "status") == "partially_filled"
    fg = Qt.ItemDataRole.ForegroundRole
    assert m.data(m.index(row, side), fg).name() == SIDE_COLORS[False][0]  # id 1: buy
    assert m.data(m.index(m.view_row_of_key(2), side), fg).name() == SIDE_COLORS[False][1]
    b.dark = True
    assert m.data(m.index(row, side), fg).name() == SIDE_COLORS[True][0]
    avg = [c.key for c in ORDER_COLUMNS].index("avg_px")
    assert m.data(m.index(m.view_row_of_key(0), avg)) == ""  # nothing filled: no average price
    assert m.data(m.index(row, avg)) != ""
