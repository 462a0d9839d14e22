"""PM panels over the shared valued book: holdings grid, drift heatmap, FX exposure."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from engine.reports.numbers import allocate_money, weights
from engine.views import drift
from engine.views.book import position_lots
from engine.views.fx_exposure import Scope, exposure
from ui.desk import BookData, Desk
from ui.panels.base import Panel
from widgets.drift_heatmap import DriftHeatmap
from widgets.formatting import fmt_money
from widgets.fx_exposure import FxExposurePanel
from widgets.holdings_grid import HoldingsGrid


def shown_lines(
    positions: pd.DataFrame, base_currency: str, value: float | None = None
) -> tuple[pd.DataFrame, Decimal]:
    """One account's positions and cash with the base values and weights as shown: rounded once
    together (largest remainder), so the lines add up to the account's value (`value`, as the
    accounts grid shows it; else the sum of the lines) to the minor unit and the weights to
    100.00%. Returns the frame and that value, rounded."""
    out = positions.copy()
    lines = allocate_money(out["mv_base"].tolist(), base_currency, value)
    total = sum(lines, Decimal(0))
    out["mv_base_shown"] = [float(v) for v in lines]
    out["weight_shown"] = [float(w) for w in weights(out["weight"].tolist(), 4)] if len(out) else []
    return out, total


def account_positions(positions: pd.DataFrame, account_id: int) -> pd.DataFrame:
    """One account's rows of the book's positions (kept sorted by account: a binary search, not
    a scan of 1.2M rows; a frame spliced by a refresh is not sorted, then a mask)."""
    ids = positions["account_id"].to_numpy()
    if positions["account_id"].is_monotonic_increasing:
        lo, hi = ids.searchsorted(account_id, "left"), ids.searchsorted(account_id, "right")
        return positions.iloc[lo:hi]
    return positions[ids == account_id]


class BookPanel(Panel):
    """Loads the shared snapshot once (the desk de-duplicates) and redraws when it arrives."""

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        # queued: each book dock draws the new book in a turn of the event loop of its own, so the
        # GUI thread answers (paints, input) between the grid, the FX table and the heatmap
        desk.book_ready.connect(self.show_book, Qt.ConnectionType.QueuedConnection)
        desk.book_failed.connect(self.show_failure)
        desk.accounts_refreshed.connect(self.update_accounts)

    def load(self) -> None:
        if self.desk.book is not None:
            self.show_book(self.desk.book)
        else:  # the other book docks' first show asks too: one load serves them all
            self.desk.ensure_book()

    def refresh(self) -> None:
        self.loaded = True
        self.desk.refresh_book()

    def show_book(self, data: BookData) -> None:
        raise NotImplementedError

    def update_accounts(self, data: BookData, account_ids: list[int]) -> None:
        """Only these accounts changed (another desk booked their fills): by default, redraw."""
        self.show_book(data)

    def show_failure(self, message: str) -> None:
        """Panels show the engine's words in their empty state."""


class HoldingsPanel(BookPanel):
    name = "holdings"
    title = "Accounts and holdings"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self.grid = HoldingsGrid()
        super().__init__(desk, parent)
        self.setWidget(self.grid)
        self.grid.account_opened.connect(self.open_account)
        self.grid.position_opened.connect(self.open_position)
        self.grid.back_requested.connect(self._back)
        desk.account_selected.connect(self._select)
        self.account_id: int | None = None

    def show_book(self, data: BookData) -> None:
        if self.grid.level == "accounts" or self.account_id is None:
            self.show_accounts()
        elif self.grid.level == "positions":
            self.open_account(self.account_id)

    def show_failure(self, message: str) -> None:
        self.grid.stacks[self.grid.level].set_message(f"Could not load the book: {message}")

    def update_accounts(self, data: BookData, account_ids: list[int]) -> None:
        """The accounts grid re-reads these accounts' rows by key (a ranged repaint of the rows
        whose values moved); an open account among them is shown again, its lots left as shown."""
        rows = data.accounts[data.accounts["account_id"].isin(account_ids)]
        self.grid.models["accounts"].upsert(rows)
        if self.grid.level == "positions" and self.account_id in account_ids:
            self.open_account(self.account_id)

    def show_accounts(self) -> None:
        data = self.desk.book
        if data is None:
            return
        self.account_id = None
        as_of = data.snap.as_of
        self.grid.show_level(
            "accounts",
            data.accounts,
            [("accounts", f"All accounts (as of {as_of}, values in each account's base currency)")],
            empty="No accounts in this book — run `workstation demo` or import accounts",
        )

    def open_account(self, account_id: int) -> None:
        data = self.desk.book
        if data is None:
            return
        self.account_id = account_id
        acct = data.snap.accounts.loc[account_id]
        listed = data.accounts.loc[data.accounts["account_id"] == account_id, "value_base"]
        frame, value = shown_lines(
            account_positions(data.positions, account_id),
            acct["base_currency"],
            float(listed.iloc[0]) if len(listed) else None,
        )
        self.grid.show_level(
            "positions",
            frame,
            [
                ("accounts", "All accounts"),
                (
                    "positions",
                    f"{acct['code']} {acct['name']} · model {acct['model']} · "
                    f"{fmt_money(value, acct['base_currency'])}",
                ),
            ],
            empty="No positions or cash in this account",
        )

    def open_position(self, account_id: int, security_id: int) -> None:
        data = self.desk.book
        if data is None:
            return
        acct = data.snap.accounts.loc[account_id]
        sym = data.snap.securities.loc[security_id, "symbol"]
        database = self.desk.database

        def fetch(_t: object) -> pd.DataFrame:  # the desk keeps no lots: this position's are read now
            return position_lots(database, data.snap, account_id, security_id)

        def show(lots: pd.DataFrame) -> None:
            self.grid.show_level(
                "lots",
                lots,
                [("accounts", "All accounts"), ("positions", f"{acct['code']}"), ("lots", f"{sym} lots")],
                empty="No open lots (the model holds it; the account does not)",
            )

        self.desk.run("Loading lots", fetch, show)

    def _back(self, target: str) -> None:
        if target == "accounts":
            self.show_accounts()
        elif target == "positions" and self.account_id is not None:
            self.open_account(self.account_id)

    def _select(self, account_id: int) -> None:
        self.show()
        self.raise_()
        if self.desk.book is not None:
            self.open_account(account_id)


class DriftPanel(BookPanel):
    name = "drift"
    title = "Drift heatmap"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self.heatmap = DriftHeatmap()
        self._asked = self._asked_done = 0  # whole matrices asked of a worker / shown
        super().__init__(desk, parent)
        self.setWidget(self.heatmap)
        self.heatmap.account_clicked.connect(desk.account_selected.emit)
        self.heatmap.bucket_kind_changed.connect(lambda _k: self.load())

    def load(self) -> None:
        self.desk.want_drift(self.heatmap.kind.currentText())  # grouped in the book's load
        super().load()

    def show_book(self, data: BookData) -> None:
        if data.positions.empty:
            self.heatmap.map_stack.set_message(
                "No accounts in this book — run `workstation demo` or import accounts"
            )
            self.heatmap.table_model.clear()
            return
        kind = self.heatmap.kind.currentText()
        self._asked += 1
        asked = self._asked
        ready = data.drift.get(kind)
        if ready is not None:  # grouped in the book's own load
            self._asked_done = asked
            self.heatmap.set_matrix(
                ready.account_ids, ready.account_codes, ready.buckets, ready.values, ready.weights,
                ready.targets, ready.bands,
            )  # fmt: skip
            return

        def show(m: drift.DriftMatrix) -> None:
            if asked == self._asked:  # a later book or bucket kind supersedes this one
                self._asked_done = asked
                self.heatmap.set_matrix(
                    m.account_ids, m.account_codes, m.buckets, m.values, m.weights, m.targets, m.bands
                )

        # 1.2M positions grouped by bucket: ~0.16 CPU-s, a stall on the GUI thread
        self.desk.run(
            "Drift by bucket", lambda _t: drift.drift_matrix(data.positions, data.accounts, kind), show
        )

    def show_failure(self, message: str) -> None:
        self.heatmap.map_stack.set_message(f"Could not load the book: {message}")

    def update_accounts(self, data: BookData, account_ids: list[int]) -> None:
        """Recompute only these accounts' cells (their positions grouped by bucket) and replace
        their rows in the map; a bucket the map has no column for redraws it whole."""
        if self._asked != self._asked_done:  # a whole matrix is on its way: one from this book
            self.show_book(data)
            return
        m = drift.drift_rows(
            data.positions, data.accounts, account_ids, self.heatmap.kind.currentText(), self.heatmap.buckets
        )
        if m is None or not self.heatmap.update_rows(
            m.account_ids, m.buckets, m.values, m.weights, m.targets, m.bands
        ):
            self.show_book(data)

    def apply_theme(self, dark: bool) -> None:
        self.heatmap.apply_theme(dark)


class FxPanel(BookPanel):
    name = "fx"
    title = "FX exposure"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self.panel = FxExposurePanel()
        super().__init__(desk, parent)
        self.setWidget(self.panel)
        self.scope = Scope()
        self.panel.scope_changed.connect(self._scope)
        self._scopes_set = False

    def load(self) -> None:
        self.desk.want_fx(self.scope)  # computed in the book's load
        super().load()

    def _scope(self, kind: str, key: str) -> None:
        self.scope = Scope(kind, key)
        self.desk.want_fx(self.scope)
        if self.desk.book is not None:
            self.show_book(self.desk.book)

    def show_book(self, data: BookData) -> None:
        snap = data.snap
        if not self._scopes_set and not snap.accounts.empty:
            self.panel.set_scopes(sorted(snap.accounts["household"].unique()), snap.accounts["code"].tolist())
            self._scopes_set = True
        ccy, frame = data.fx.get(self.scope) or exposure(snap, self.scope)
        fix = " vs ".join(str(d) for d in snap.fixings) if snap.fixings else "n/a"
        self.panel.set_exposure(frame, self.scope.label(), ccy, f"fixings {fix}")

    def apply_theme(self, dark: bool) -> None:
        self.panel.apply_theme(dark)
