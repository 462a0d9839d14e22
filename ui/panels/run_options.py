"""The proposals dock's "Run options" dialog: a rebalance's style, turnover cap, improvement
threshold, gains deferral, households and what-if, as one engine RunOptions checked by the same
`build_settings` the CLI uses (a bad value is refused naming its field; the options stay as they were)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from engine.errors import WorkstationError
from engine.rebalance.run_options import RunOptions, build_settings
from engine.rebalance.settings import Mode, Style

STYLES: list[tuple[str, Style, str]] = [
    ("standard: every position may trade", Style.STANDARD, "edge"),
    ("min-max to band edge: only positions outside their band", Style.MINMAX, "edge"),
    ("min-max to target: only positions outside their band", Style.MINMAX, "target"),
    ("tactical: one sleeve only", Style.TACTICAL, "edge"),
]


def parse_percent(field: str, text: str) -> float | None:
    """'20' or '20%' -> 0.2; empty -> None; anything else refused naming the field."""
    t = text.strip().removesuffix("%").strip()
    if not t:
        return None
    try:
        return float(t) / 100.0
    except ValueError:
        raise WorkstationError(f"{field}: {text.strip()!r} is not a number (a percent, e.g. 20)") from None


def parse_amount(field: str, text: str) -> float | None:
    """'250000' or '250,000' -> 250000.0; empty -> None; anything else refused naming the field."""
    t = text.strip().replace(",", "")
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        raise WorkstationError(f"{field}: {text.strip()!r} is not an amount (base currency)") from None


def parse_day(field: str, text: str) -> date | None:
    """'2026-12-15' -> a date; empty -> None; anything else refused naming the field."""
    t = text.strip()
    if not t:
        return None
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise WorkstationError(f"{field}: {t!r} is not a date (YYYY-MM-DD)") from None


def summary(o: RunOptions) -> str:
    """The options that differ from a standard run, in a few words (the dock's button says them)."""
    parts = []
    if o.style == Style.MINMAX:
        parts.append(f"min-max to {o.minmax_to}")
    elif o.style == Style.TACTICAL:
        parts.append("tactical " + ",".join(o.sleeve))
    if o.max_turnover is not None:
        parts.append(f"turnover ≤ {o.max_turnover * 100:g}%")
    if o.min_improvement:
        parts.append(f"improve ≥ {o.min_improvement * 100:g}%")
    if o.defer_gains_days:
        parts.append(f"defer gains {o.defer_gains_days} d")
    if o.tax_budget is not None:
        parts.append(f"tax budget {o.tax_budget:,.0f}")
    if o.cash_raise:
        parts.append(f"raise {o.cash_raise:,.0f}" + (f" by {o.cash_raise_by}" if o.cash_raise_by else ""))
    if o.households:
        parts.append("households")
    if o.what_if:
        parts.append("what-if")
    return ", ".join(parts)


class RunOptionsDialog(QDialog):
    """Edit a run's options; `options` holds the accepted ones (checked with the CLI's rules)."""

    def __init__(self, options: RunOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Rebalance run options")
        self.options = options
        self.style_box = QComboBox()
        for label, _s, _to in STYLES:
            self.style_box.addItem(label)
        self.sleeve = QLineEdit()
        self.sleeve.setPlaceholderText("asset classes or sectors, comma-separated")
        self.turnover = QLineEdit()
        self.turnover.setPlaceholderText("no cap (percent of value, e.g. 20)")
        self.improvement = QDoubleSpinBox()
        self.improvement.setRange(0.0, 100.0)
        self.improvement.setDecimals(2)
        self.improvement.setSuffix(" %")
        self.improvement.setToolTip(
            "skip accounts whose tracking error falls by less (0.10 % = 10 bp; 0: none skipped)"
        )
        self.defer = QSpinBox()
        self.defer.setRange(0, 366)
        self.defer.setSuffix(" days")
        self.defer.setToolTip("do not sell a gain lot that turns long-term within this many days (0: off)")
        self.tax_budget = QLineEdit()
        self.tax_budget.setPlaceholderText("none (realized gains per account, base currency)")
        self.cash_raise = QLineEdit()
        self.cash_raise.setPlaceholderText("mode cash-raise: amount per account, base currency")
        self.cash_raise_by = QLineEdit()
        self.cash_raise_by.setPlaceholderText("YYYY-MM-DD: only sales settling by then fund it")
        self.households = QCheckBox("Solve each &household group's accounts together")
        self.what_if = QCheckBox("&What-if: save nothing, show the run's summary")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        form = QFormLayout(self)
        form.addRow("&Style:", self.style_box)
        form.addRow("S&leeve:", self.sleeve)
        form.addRow("Max &turnover (%):", self.turnover)
        form.addRow("Min &improvement:", self.improvement)
        form.addRow("&Defer gains:", self.defer)
        form.addRow("Ta&x budget:", self.tax_budget)
        form.addRow("&Cash raise:", self.cash_raise)
        form.addRow("Cash raise &by:", self.cash_raise_by)
        form.addRow("", self.households)
        form.addRow("", self.what_if)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.style_box.currentIndexChanged.connect(lambda _i: self._sleeve_enabled())
        self.show_options(options)

    def _sleeve_enabled(self) -> None:
        self.sleeve.setEnabled(STYLES[self.style_box.currentIndex()][1] == Style.TACTICAL)

    def show_options(self, o: RunOptions) -> None:
        """Put `o` in the form."""
        at = next(
            (
                i
                for i, (_l, s, to) in enumerate(STYLES)
                if s == o.style and (s != Style.MINMAX or to == o.minmax_to)
            ),
            0,
        )
        self.style_box.setCurrentIndex(at)
        self.sleeve.setText(", ".join(o.sleeve))
        self.turnover.setText("" if o.max_turnover is None else f"{o.max_turnover * 100:g}")
        self.improvement.setValue(o.min_improvement * 100)
        self.defer.setValue(o.defer_gains_days)
        self.tax_budget.setText("" if o.tax_budget is None else f"{o.tax_budget:g}")
        self.cash_raise.setText(f"{o.cash_raise:g}" if o.cash_raise else "")
        self.cash_raise_by.setText(o.cash_raise_by.isoformat() if o.cash_raise_by else "")
        self.households.setChecked(o.households)
        self.what_if.setChecked(o.what_if)
        self._sleeve_enabled()

    def read(self) -> RunOptions:
        """The form as RunOptions, checked by build_settings (raises WorkstationError naming the field)."""
        _label, style, to = STYLES[self.style_box.currentIndex()]
        o = replace(
            self.options,
            style=style,
            minmax_to=to,
            sleeve=tuple(x.strip() for x in self.sleeve.text().split(",") if x.strip())
            if style == Style.TACTICAL
            else (),
            max_turnover=parse_percent("max turnover", self.turnover.text()),
            min_improvement=round(self.improvement.value() / 100, 6),
            defer_gains_days=self.defer.value(),
            tax_budget=parse_amount("tax budget", self.tax_budget.text()),
            cash_raise=parse_amount("cash raise", self.cash_raise.text()) or 0.0,
            cash_raise_by=parse_day("cash raise by", self.cash_raise_by.text()),
            households=self.households.isChecked(),
            what_if=self.what_if.isChecked(),
        )
        build_settings(replace(o, mode=Mode.CASH_RAISE) if o.cash_raise else o)  # the mode box is apart
        return o

    def accept(self) -> None:
        """Keep the options only when they are valid; otherwise say why and stay open."""
        try:
            self.options = self.read()
        except WorkstationError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        super().accept()
