"""PM performance and risk dock: one account's cumulative return against its model or a benchmark,
its drawdown, and the `report performance` / `report risk` figures beside the chart; on a second
tab its Brinson-Fachler attribution over the same range (`report attribution`'s document)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QTabWidget, QWidget

from engine.views import performance as perf_data
from engine.views.performance import PerformanceData
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.attribution_view import AttributionView
from widgets.formatting import fmt_money
from widgets.performance_chart import PerformanceChart


def _pct(v: Any, signed: bool = False) -> str:
    return "n/a" if v is None else (f"{float(v) * 100:+.2f}%" if signed else f"{float(v) * 100:.2f}%")


def _num(v: Any, nd: int = 2) -> str:
    return "n/a" if v is None else f"{float(v):,.{nd}f}"


def _amount(v: Any, ccy: str) -> str:
    """Money in the account's base currency, with its minor units (JPY none)."""
    return "n/a" if v is None else fmt_money(v, ccy)


def figures(d: PerformanceData) -> list[tuple[str, str, str]]:
    """The report rows as (measure, value, definition), in the order a PM reads them."""
    p, r, ccy = d.performance, d.risk, d.base_currency
    conf = f"{float(r.get('confidence', 0.99)) * 100:.0f}%"
    rows = [
        ("TWR", _pct(p.get("twr"), True), "time-weighted return, linked daily, not annualized"),
        (
            "Benchmark",
            _pct(p.get("benchmark_return"), True),
            p.get("benchmark_note") or f"{p.get('benchmark')}, same dates, in {ccy}",
        ),
        ("Active", _pct(p.get("active_return"), True), "TWR minus benchmark"),
        ("Local", _pct(p.get("local_return"), True), "holdings at yesterday's FX"),
        ("Currency", _pct(p.get("currency_return"), True), "(1+TWR) = (1+local)(1+currency)"),
        ("MWR (a year)", _pct(p.get("mwr_annualized"), True), "money-weighted (IRR), ACT/365"),
        ("Modified Dietz", _pct(p.get("modified_dietz"), True), "flows weighted by time in period"),
        ("Volatility", _pct(r.get("volatility")), "annualized: daily std × √252"),
        (
            "Max drawdown",
            _pct(r.get("max_drawdown"), True),
            f"{r.get('drawdown_peak', '')} → {r.get('drawdown_trough', '')}",
        ),
        (
            f"VaR {conf} hist.",
            _pct(r.get("historical_var")),
            f"1 day, historical: {_amount(r.get('historical_var_amount'), ccy)}",
        ),
        (f"VaR {conf} param.", _pct(r.get("parametric_var")), "1 day, normal with the mean"),
        (f"ES {conf}", _pct(r.get("expected_shortfall")), "expected shortfall: mean loss beyond the VaR"),
        ("Tracking error", _pct(p.get("tracking_error")), "std of active daily return × √252"),
        ("Info. ratio", _num(p.get("information_ratio")), "active return / tracking error"),
        ("Beta", _num(p.get("beta")), "vs the benchmark"),
        ("Sharpe", _num(r.get("sharpe")), "risk-free 0"),
        ("Sortino", _num(r.get("sortino")), "downside deviation, target 0"),
        ("Start value", _amount(p.get("start_value"), ccy), str(p.get("from", ""))),
        ("End value", _amount(p.get("end_value"), ccy), str(p.get("to", ""))),
        ("Net flows", _amount(p.get("net_flows"), ccy), "deposits, withdrawals, transfers in kind"),
    ]
    notes = list(p.get("notes") or []) + ([r["note"]] if r.get("note") else [])
    rows += [("Note", "", n) for n in notes]
    return rows


class PerformancePanel(Panel):
    name = "performance"
    title = "Performance and risk"
    after_book = True  # one account's history: it can wait for the book the window opens on

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.chart = PerformanceChart()
        self.attribution = AttributionView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.chart, "Returns and risk")
        self.tabs.addTab(self.attribution, "Attribution")
        self.setWidget(self.tabs)
        self.chart.request.connect(self.show_account)
        self.attribution.request.connect(lambda _by: self._load_attribution())
        self.tabs.currentChanged.connect(lambda _i: self._load_attribution())
        desk.account_selected.connect(self._select)
        self.data: PerformanceData | None = None
        self.attribution_doc: dict[str, Any] | None = None
        self._want: tuple[int, int, str] | None = None
        self._want_attr: tuple[int, int, str] | None = None

    def load(self) -> None:
        def done(accounts: list[tuple[int, str, str]]) -> None:
            self.chart.set_accounts(accounts)
            if not accounts:
                self.chart.set_message("No accounts in this book — run `workstation demo` or import accounts")
                return
            cur = self.chart.current()
            if cur is not None:
                self.show_account(*cur)

        self.desk.run("Loading accounts", lambda _t: perf_data.accounts(self.desk.database), done)

    def _select(self, account_id: int) -> None:
        """The heatmap or grid chose an account: follow it when this dock is showing."""
        i = self.chart.account.findData(account_id)
        if i >= 0:
            self.chart.account.setCurrentIndex(i)
            if self.isVisible():
                cur = self.chart.current()
                if cur is not None:
                    self.show_account(*cur)

    def show_account(self, account_id: int, days: int = 365, benchmark: str = "model") -> None:
        """Rebuild the account's history and reports in a worker, then draw."""
        want = (account_id, days, benchmark)
        self._want = want

        def done(d: PerformanceData) -> None:
            if self._want != want:
                return  # a later choice won
            self.data = d
            self.chart.set_series(d.growth, d.benchmark_growth, d.benchmark, d.drawdown)
            self.chart.set_figures(
                figures(d),
                f"{d.account} · {d.base_currency} · {d.start} → {d.end} · {len(d.growth) - 1} daily returns",
            )

        def failed(msg: str) -> None:
            if self._want == want:
                self.chart.set_message(f"No performance for this account: {msg}")

        self.desk.run(
            "Performance and risk",
            lambda _t: perf_data.performance(self.desk.database, account_id, days, benchmark),
            done,
            failed,
        )
        self._load_attribution()

    def _load_attribution(self) -> None:
        """Attribution of the chosen account over the chart's range, when its tab is showing."""
        cur = self.chart.current()
        if cur is None or self.tabs.currentWidget() is not self.attribution:
            return
        want = (cur[0], cur[1], self.attribution.grouping())
        if want == self._want_attr:
            return
        self._want_attr = want

        def done(doc: dict[str, Any]) -> None:
            if self._want_attr == want:
                self.attribution_doc = doc
                self.attribution.set_document(doc)

        def failed(msg: str) -> None:
            if self._want_attr == want:
                self._want_attr = None  # try again on the next choice
                self.attribution.set_message(f"No attribution for this account: {msg}")

        self.desk.run(
            "Attribution",
            lambda _t: perf_data.attribution(self.desk.database, want[0], want[1], want[2]),
            done,
            failed,
        )

    def apply_theme(self, dark: bool) -> None:
        self.chart.apply_theme(dark)
        self.attribution.apply_theme(dark)
