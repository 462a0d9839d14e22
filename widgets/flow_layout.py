"""Toolbars that wrap: a flow layout (left to right, next line when the row is full) and a bar widget.

A panel's toolbar laid out in a QHBoxLayout asks for the sum of its controls' widths as the dock's
minimum, so five filter combos made the order blotter 1,017 px wide and the window could not fit
a 1280 px screen. In a FlowBar the minimum width is the widest single control; narrower docks get
a second row of controls instead of a wider window.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new row; height follows the width (heightForWidth).

    An item whose horizontal policy can expand (a stretch label, a filter box) takes the rest of
    its row up to its maximum width, so one-row bars look like a QHBoxLayout with a stretch."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6, margins: int = 0) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(QMargins(margins, margins, margins, margins))

    # ---- QLayout interface ---------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        """All items on one row (what the bar would like)."""
        m = self.contentsMargins()
        shown = self._shown()
        width = sum(i.sizeHint().width() for i in shown) + self.spacing() * max(len(shown) - 1, 0)
        height = max((i.sizeHint().height() for i in shown), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """The widest single item: anything narrower than that cannot be laid out at all."""
        m = self.contentsMargins()
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        return QSize(size.width() + m.left() + m.right(), size.height() + m.top() + m.bottom())

    # ---- layout --------------------------------------------------------------------------------
    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def rows(self, width: int) -> list[list[QLayoutItem]]:
        """The items of each row at this width (tests read it to check what wrapped)."""
        m = self.contentsMargins()
        avail = max(width - m.left() - m.right(), 1)
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._shown():
            w = self._want(item, avail)
            step = w if not rows[-1] else used + self.spacing() + w
            if rows[-1] and step > avail:
                rows.append([item])
                used = w
            else:
                rows[-1].append(item)
                used = step
        return [r for r in rows if r]

    def _want(self, item: QLayoutItem, avail: int) -> int:
        """The width an item asks for on a row: its size hint (a growing item only its minimum,
        or `flowMin` when set, since it takes whatever is left), never below its minimum."""
        widget = item.widget()
        if _grows(item):
            floor = widget.property("flowMin") if widget is not None else None
            want = int(floor) if isinstance(floor, int) else item.minimumSize().width()
        else:
            want = item.sizeHint().width()
        return max(min(want, avail), item.minimumSize().width())

    def _do_layout(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = area.y()
        for row in self.rows(rect.width()):
            widths = [self._want(i, area.width()) for i in row]
            spare = area.width() - sum(widths) - self.spacing() * (len(row) - 1)
            growers = [k for k, i in enumerate(row) if _grows(i)]
            while spare > 0 and growers:  # share the rest of the row among items that can grow
                share = max(spare // len(growers), 1)
                still = []
                for k in growers:
                    room = row[k].maximumSize().width() - widths[k]
                    add = max(min(share, room, spare), 0)
                    widths[k] += add
                    spare -= add
                    if room - add > 0:
                        still.append(k)
                growers = still
            height = max(
                i.heightForWidth(w) if i.hasHeightForWidth() else i.sizeHint().height()
                for i, w in zip(row, widths)
            )
            if apply:
                x = area.x()
                for item, w in zip(row, widths):
                    h = min(height, item.maximumSize().height())
                    top = y + (height - h) // 2
                    item.setGeometry(QRect(QPoint(x, top), QSize(w, h)))
                    x += w + self.spacing()
            y += height + self.spacing()
        return y - self.spacing() - rect.y() + m.bottom() if self._shown() else m.top() + m.bottom()


def _grows(item: QLayoutItem) -> bool:
    """Items that take the rest of their row: expanding ones and those added with grow=True."""
    widget = item.widget()
    if widget is not None and widget.property("flowGrow") is True:
        return True
    return bool(item.expandingDirections() & Qt.Orientation.Horizontal)


class FlowBar(QWidget):
    """A panel toolbar whose controls wrap onto more rows when the dock is narrow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = FlowLayout(self, spacing=6, margins=0)
        self.flow.setContentsMargins(4, 2, 4, 2)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def add(self, widget: QWidget, grow: bool = False, min_width: int | None = None) -> QWidget:
        """Add a control; `grow` lets it take the rest of its row (up to its maximum width),
        asking only `min_width` (else its minimum) when the bar decides what wraps."""
        if grow:
            widget.setProperty("flowGrow", True)
        if min_width is not None:
            widget.setProperty("flowMin", min_width)
        self.flow.addWidget(widget)
        return widget

    def add_field(self, label: str, widget: QWidget) -> QWidget:
        """A label and its control, kept together on one row."""
        box = QWidget(self)
        lay = QHBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(QLabel(label))
        lay.addWidget(widget)
        self.flow.addWidget(box)
        return box

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self.flow.heightForWidth(width)

    def minimumSizeHint(self) -> QSize:
        return self.flow.minimumSize()

    def sizeHint(self) -> QSize:
        hint = self.flow.sizeHint()
        if self.width() > 0:  # the height of the rows at the current width
            hint.setHeight(self.flow.heightForWidth(self.width()))
        return hint

    def row_count(self) -> int:
        return len(self.flow.rows(self.width()))
