"""Default dock arrangement of each role's workspace (PM, compliance, trader, operations).

Docks of other workspaces stay created but hidden, so any saved layout can restore them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ui.panels.allocations_panel import AllocationsPanel
from ui.panels.approval_panels import ApprovalQueuePanel, AuditPanel
from ui.panels.base import Panel
from ui.panels.book_panels import DriftPanel, FxPanel, HoldingsPanel
from ui.panels.clock_panel import ClockPanel
from ui.panels.compare_panel import ComparePanel
from ui.panels.corporate_panel import CorporatePanel
from ui.panels.daycycle_panel import DayCyclePanel
from ui.panels.exceptions_panel import ExceptionsPanel
from ui.panels.household_panel import HouseholdPanel
from ui.panels.killswitch_panel import KillSwitchPanel
from ui.panels.performance_panel import PerformancePanel
from ui.panels.proposal_panels import ProposalsPanel
from ui.panels.reconcile_panel import ReconcilePanel
from ui.panels.sessions_panel import SessionsPanel
from ui.panels.stale_panel import StalePanel
from ui.panels.tca_panel import TcaPanel
from ui.panels.trading_panels import ExecutionsPanel, OrdersPanel
from ui.panels.transition_panel import TransitionsPanel

PANELS: tuple[type[Panel], ...] = (
    DriftPanel,
    HoldingsPanel,
    FxPanel,
    ProposalsPanel,
    ExceptionsPanel,
    ComparePanel,
    TransitionsPanel,
    HouseholdPanel,
    PerformancePanel,
    ApprovalQueuePanel,
    AuditPanel,
    ReconcilePanel,
    OrdersPanel,
    ExecutionsPanel,
    AllocationsPanel,
    ClockPanel,
    SessionsPanel,
    KillSwitchPanel,
    StalePanel,
    DayCyclePanel,
    CorporatePanel,
    TcaPanel,
)


@dataclass(frozen=True)
class Workspace:
    key: str
    title: str
    docks: tuple[str, ...]


WORKSPACES: dict[str, Workspace] = {
    "pm": Workspace(
        "pm",
        "Portfolio manager",
        (
            "drift",
            "fx",
            "holdings",
            "proposals",
            "exceptions",
            "compare",
            "transitions",
            "performance",
            "household",
        ),
    ),
    "compliance": Workspace(
        "compliance",
        "Compliance",
        ("approvals", "audit", "reconcile", "holdings", "killswitch", "stale", "tca"),
    ),
    "trader": Workspace(
        "trader", "Trader", ("orders", "executions", "allocations", "clock", "sessions", "tca")
    ),
    "operations": Workspace("operations", "Operations", ("daycycle", "corporate", "reconcile", "stale")),
}


COMPACT = (1400, 850)
"""Below this size (a laptop's 1280x720 or 1366x768) secondary docks share tabs."""
WIDE = (2200, 1200)
"""From this size (2560x1440) docks that are tabs on a smaller screen sit side by side."""


def size_class(width: int, height: int) -> str:
    """'compact', 'normal' or 'wide': which default arrangement suits a window of this size."""
    if width < COMPACT[0] or height < COMPACT[1]:
        return "compact"
    if width >= WIDE[0] and height >= WIDE[1]:
        return "wide"
    return "normal"


def _show(docks: dict[str, QDockWidget], ws: Workspace) -> None:
    """Docks must be visible before resizeDocks can size them."""
    for name in ws.docks:
        docks[name].show()


def _split(
    window: QMainWindow,
    docks: dict[str, QDockWidget],
    names: list[str],
    total: int,
    fractions: list[float],
    orientation: Qt.Orientation,
) -> None:
    window.resizeDocks([docks[n] for n in names], [int(total * f) for f in fractions], orientation)


def arrange(window: QMainWindow, docks: dict[str, QDockWidget], key: str) -> None:
    """Place the workspace's docks for the window's size; hide every other dock.

    compact (1280x720): the main grid of the role gets most of the screen, secondary docks are
    tabs; normal (1600x960): as compact with more side by side; wide (2560x1440): every dock of
    the workspace visible at once."""
    ws = WORKSPACES[key]
    for name, dock in docks.items():
        if name not in ws.docks:
            dock.hide()
        dock.setFloating(False)
    for name in ws.docks:
        window.removeDockWidget(docks[name])
    w, h = max(window.width(), 800), max(window.height(), 600)
    size = size_class(w, h)
    {"pm": _pm, "compliance": _compliance, "trader": _trader, "operations": _operations}[key](
        window, docks, size, w, h
    )
    window.setProperty("layoutSize", size)


def _pm(window: QMainWindow, docks: dict[str, QDockWidget], size: str, w: int, h: int) -> None:
    """Heatmap and FX on top; the accounts grid (with proposals, the exception queue, run compare and
    transitions as tabs) and performance (with the household view as a tab) below."""
    H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["drift"])
    window.splitDockWidget(docks["drift"], docks["holdings"], V)
    window.splitDockWidget(docks["drift"], docks["fx"], H)
    window.splitDockWidget(docks["holdings"], docks["performance"], H)
    if size == "wide":
        window.splitDockWidget(docks["holdings"], docks["proposals"], H)
    else:
        window.tabifyDockWidget(docks["holdings"], docks["proposals"])
    window.tabifyDockWidget(docks["proposals"], docks["exceptions"])
    window.tabifyDockWidget(docks["exceptions"], docks["compare"])
    window.tabifyDockWidget(docks["compare"], docks["transitions"])
    window.tabifyDockWidget(docks["performance"], docks["household"])
    _show(docks, WORKSPACES["pm"])
    _split(window, docks, ["drift", "fx"], w, [0.55, 0.45], H)
    if size == "wide":
        _split(window, docks, ["holdings", "proposals", "performance"], w, [0.36, 0.36, 0.28], H)
    else:
        _split(window, docks, ["holdings", "performance"], w, [0.56, 0.44], H)
    _split(window, docks, ["drift", "holdings"], h, [0.42, 0.58], V)
    docks["performance"].raise_()
    if size == "wide":
        docks["proposals"].raise_()
    docks["holdings"].raise_()


def _compliance(window: QMainWindow, docks: dict[str, QDockWidget], size: str, w: int, h: int) -> None:
    """The approval queue (with the case's rule results) on the left, most of the screen; the audit
    trail and reconciliation breaks beside it (tabs on a small screen, so an empty reconciliation
    never takes half of it)."""
    H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["approvals"])
    window.splitDockWidget(docks["approvals"], docks["audit"], H)
    if size == "compact":
        # Six tabs in one 540 px area cut every title short: the desk's own tools (kill switch,
        # stale data, transaction costs) are tabs beside the queue, the records beside the audit.
        window.tabifyDockWidget(docks["audit"], docks["reconcile"])
        window.tabifyDockWidget(docks["reconcile"], docks["holdings"])
        window.tabifyDockWidget(docks["approvals"], docks["killswitch"])
    else:
        window.splitDockWidget(docks["audit"], docks["reconcile"], V)
        window.tabifyDockWidget(docks["reconcile"], docks["holdings"])
        window.tabifyDockWidget(docks["holdings"], docks["killswitch"])
    window.tabifyDockWidget(docks["killswitch"], docks["stale"])
    window.tabifyDockWidget(docks["stale"], docks["tca"])
    _show(docks, WORKSPACES["compliance"])
    _split(window, docks, ["approvals", "audit"], w, [0.58, 0.42] if size == "compact" else [0.52, 0.48], H)
    if size != "compact":
        _split(window, docks, ["audit", "reconcile"], h, [0.42, 0.58], V)
        has_breaks = getattr(docks["reconcile"], "has_content", lambda: True)()
        docks["reconcile" if has_breaks else "holdings"].raise_()
    docks["audit"].raise_()
    docks["approvals"].raise_()


def _trader(window: QMainWindow, docks: dict[str, QDockWidget], size: str, w: int, h: int) -> None:
    """The order blotter on top, most of the width; market clock and sessions beside it; executions
    and allocations below (side by side on a wide screen)."""
    H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["orders"])
    window.splitDockWidget(docks["orders"], docks["executions"], V)
    window.splitDockWidget(docks["orders"], docks["clock"], H)
    window.tabifyDockWidget(docks["clock"], docks["sessions"])
    if size == "wide":
        window.splitDockWidget(docks["executions"], docks["allocations"], H)
        window.tabifyDockWidget(docks["allocations"], docks["tca"])
    else:
        window.tabifyDockWidget(docks["executions"], docks["allocations"])
        window.tabifyDockWidget(docks["allocations"], docks["tca"])
    _show(docks, WORKSPACES["trader"])
    docks["clock"].raise_()
    docks["executions"].raise_()
    _split(window, docks, ["orders", "executions"], h, [0.56, 0.44], V)
    _split(window, docks, ["orders", "clock"], w, [0.64, 0.36] if size == "compact" else [0.68, 0.32], H)
    if size == "wide":
        _split(window, docks, ["executions", "allocations"], w, [0.6, 0.4], H)


def _operations(window: QMainWindow, docks: dict[str, QDockWidget], size: str, w: int, h: int) -> None:
    """The day cycle (steps, exceptions, inbox files) on the left, most of the screen; corporate
    actions beside it, the breaks and stale data as its tabs on a small screen, below it (side by
    side on a wide one) otherwise."""
    H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["daycycle"])
    window.splitDockWidget(docks["daycycle"], docks["corporate"], H)
    if size == "compact":
        window.tabifyDockWidget(docks["corporate"], docks["reconcile"])
        window.tabifyDockWidget(docks["reconcile"], docks["stale"])
    else:
        window.splitDockWidget(docks["corporate"], docks["reconcile"], V)
        if size == "wide":
            window.splitDockWidget(docks["reconcile"], docks["stale"], H)
        else:
            window.tabifyDockWidget(docks["reconcile"], docks["stale"])
    _show(docks, WORKSPACES["operations"])
    _split(window, docks, ["daycycle", "corporate"], w, [0.55, 0.45] if size == "compact" else [0.5, 0.5], H)
    if size != "compact":
        _split(window, docks, ["corporate", "reconcile"], h, [0.5, 0.5], V)
        docks["reconcile"].raise_()
    if size == "wide":
        _split(window, docks, ["reconcile", "stale"], w, [0.25, 0.25], H)
    docks["corporate"].raise_()
