"""The proposals dock's "Run options" dialog: a rebalance's style, turnover cap, improvement
threshold, gains deferral, households, what-if, a directed trade (security, buy or sell, percent,
a total quantity limit, account priorities; whole board lots are the engine's) and equivalents by
account type, as one engine RunOptions checked by the same
`build_settings` the CLI uses (a bad value is refused naming its field; the options stay as they were)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

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
from engine.rebalance.settings import DirectedTrade, Mode, Style

STYLES: list[tuple[str, Style, str]] = [
    ("standard: every position may trade", Style.STANDARD, "edge"),
    ("min-max to band edge: only positions outside their band", Style.MINMAX, "edge"),
    ("min-max to target: only positions outside their band", Style.MINMAX, "target"),
    ("tactical: one sleeve only", Style.TACTICAL, "edge"),
    ("directed: buy or sell a percent of one security across accounts", Style.DIRECTED, "edge"),
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


def parse_priorities(text: str) -> tuple[tuple[str, int], ...]:
    """'A000001:1, A000002:2' -> (account, priority) pairs sorted by account (lower priority first
    when the run orders them); empty -> (); a bad item refused naming the field and the item."""
    out: dict[str, int] = {}
    for item in (x.strip() for x in text.replace(";", ",").split(",")):
        if not item:
            continue
        code, _sep, prio = item.rpartition(":")
        try:
            if not code.strip():
                raise ValueError
            out[code.strip()] = int(prio)
        except ValueError:
            raise WorkstationError(f"priorities: {item!r} is not ACCOUNT:N (a whole number)") from None
    return tuple(sorted(out.items()))


def read_directed(symbol: str, side: str, pct: str, limit: str, priorities: str) -> DirectedTrade:
    """The directed trade of the form, each field checked as the CLI's --directed SYMBOL:SIDE:PCT."""
    sym = symbol.strip().upper()
    if not sym:
        raise WorkstationError("directed security: give the symbol to buy or sell")
    frac = parse_percent("directed percent", pct)
    if frac is None or not 0 < frac <= 1:
        raise WorkstationError(
            f"directed percent: {pct.strip() or '(empty)'} must be above 0 and at most 100"
        )
    qty = parse_amount("directed limit", limit)
    if qty is not None and qty <= 0:
        raise WorkstationError(f"directed limit: {qty:g} must be a quantity above 0 (empty: no limit)")
    return DirectedTrade(sym, side, frac, qty, parse_priorities(priorities))


def summary(o: RunOptions) -> str:
    """The options that differ from a standard run, in a few words (the dock's button says them)."""
    parts = []
    if o.style == Style.MINMAX:
        parts.append(f"min-max to {o.minmax_to}")
    elif o.style == Style.TACTICAL:
        parts.append("tactical " + ",".join(o.sleeve))
    elif o.style == Style.DIRECTED and o.directed is not None:
        d = o.directed
        parts.append(
            f"directed {d.side} {d.pct * 100:g}% {d.symbol}"
            + (f" ≤ {d.limit_qty:,.0f}" if d.limit_qty else "")
        )
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
    if o.equivalents_file is not None:
        parts.append("equivalents")
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
        self.directed_symbol = QLineEdit()
        self.directed_symbol.setPlaceholderText("directed: the security's symbol, e.g. AGA")
        self.directed_side = QComboBox()
        self.directed_side.addItems(["buy", "sell"])
        self.directed_side.setToolTip(
            "buy: a percent of each account's value; sell: a percent of each holding"
        )
        self.directed_pct = QLineEdit()
        self.directed_pct.setPlaceholderText("percent, e.g. 2 (whole board lots, cash permitting)")
        self.directed_limit = QLineEdit()
        self.directed_limit.setPlaceholderText("no limit (total quantity, filled in priority order)")
        self.priorities = QLineEdit()
        self.priorities.setPlaceholderText("ACCOUNT:N, … lower first (others follow by code)")
        self.equivalents = QCheckBox("Hold &equivalents by account type")
        self.equivalents.setToolTip("e.g. taxable accounts hold a government bond fund for a credit fund")
        self.equivalents_file = QLineEdit()
        self.equivalents_file.setPlaceholderText("default: resources/rebalance/equivalents.csv")
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
        form.addRow("Sec&urity (directed):", self.directed_symbol)
        form.addRow("Side:", self.directed_side)
        form.addRow("&Percent:", self.directed_pct)
        form.addRow("Li&mit (quantity):", self.directed_limit)
        form.addRow("Pri&orities:", self.priorities)
        form.addRow("", self.equivalents)
        form.addRow("E&quivalents file:", self.equivalents_file)
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
        self.equivalents.toggled.connect(self.equivalents_file.setEnabled)
        self.show_options(options)

    def _sleeve_enabled(self) -> None:
        style = STYLES[self.style_box.currentIndex()][1]
        self.sleeve.setEnabled(style == Style.TACTICAL)
        for w in (
            self.directed_symbol,
            self.directed_side,
            self.directed_pct,
            self.directed_limit,
            self.priorities,
        ):
            w.setEnabled(style == Style.DIRECTED)

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
        d = o.directed
        self.directed_symbol.setText(d.symbol if d else "")
        self.directed_side.setCurrentText(d.side if d else "buy")
        self.directed_pct.setText(f"{d.pct * 100:g}" if d else "")
        self.directed_limit.setText(f"{d.limit_qty:g}" if d and d.limit_qty else "")
        self.priorities.setText(", ".join(f"{a}:{p}" for a, p in d.priority) if d else "")
        self.equivalents.setChecked(o.equivalents_file is not None)
        self.equivalents_file.setText(o.equivalents_file or "")
        self.equivalents_file.setEnabled(o.equivalents_file is not None)
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
            directed=read_directed(
                self.directed_symbol.text(),
                self.directed_side.currentText(),
                self.directed_pct.text(),
                self.directed_limit.text(),
                self.priorities.text(),
            )
            if style == Style.DIRECTED
            else None,
            equivalents_file=self.equivalents_file.text().strip() if self.equivalents.isChecked() else None,
        )
        if o.equivalents_file and not Path(o.equivalents_file).expanduser().is_file():
            raise WorkstationError(f"equivalents file: {o.equivalents_file!r} is not a file")
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
