"""Cancel/replace dialog: the order's new quantity and limit price, checked before it is sent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from widgets.formatting import fmt_qty


def parse_amount(text: str, field: str, *, allow_empty: bool = False) -> Decimal | None:
    """A positive decimal from what the trader typed ("1,500" is fine); ValueError names the field."""
    text = text.strip().replace(",", "").replace("_", "")
    if not text:
        if allow_empty:
            return None
        raise ValueError(f"{field}: required")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{field}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{field}: must be positive")
    return value


class ReplaceDialog(QDialog):
    """Asks for the new terms of one order; `terms()` gives (quantity, limit price or None)."""

    def __init__(
        self,
        cl_ord_id: str,
        symbol: str,
        side: str,
        quantity: float,
        filled: float,
        limit_price: float | None,
        limit_order: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Cancel/replace {cl_ord_id}")
        self.filled = Decimal(str(filled or 0))
        self.limit_order = limit_order
        self.quantity = QLineEdit(fmt_qty(quantity))
        self.limit = QLineEdit(
            "" if limit_price is None or limit_price != limit_price else f"{limit_price:g}"
        )
        self.limit.setEnabled(limit_order)
        if not limit_order:
            self.limit.setPlaceholderText("market order")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c0392b")
        form = QFormLayout()
        form.addRow("Order:", QLabel(f"{side} {symbol}, {fmt_qty(filled)} filled"))
        form.addRow("New quantity:", self.quantity)
        form.addRow("New limit price:", self.limit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def terms(self) -> tuple[Decimal, Decimal | None]:
        """The new quantity and limit; ValueError with the field and reason if they are not valid."""
        qty = parse_amount(self.quantity.text(), "quantity")
        assert qty is not None
        if qty <= self.filled:
            raise ValueError(f"quantity: must exceed the {fmt_qty(self.filled)} already filled")
        px = parse_amount(self.limit.text(), "limit price") if self.limit_order else None
        return qty, px

    def _accept(self) -> None:
        try:
            self.terms()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
