"""Default dock arrangement of each role's workspace (PM, compliance, trader).

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
from ui.panels.performance_panel import PerformancePanel
from ui.panels.proposal_panels import ProposalsPanel
from ui.panels.reconcile_panel import ReconcilePanel
from ui.panels.sessions_panel import SessionsPanel
from ui.panels.trading_panels import ExecutionsPanel, OrdersPanel

PANELS: tuple[type[Panel], ...] = (
    DriftPanel,
    HoldingsPanel,
    FxPanel,
    ProposalsPanel,
    PerformancePanel,
    ApprovalQueuePanel,
    AuditPanel,
    ReconcilePanel,
    OrdersPanel,
    ExecutionsPanel,
    AllocationsPanel,
    ClockPanel,
    SessionsPanel,
)


@dataclass(frozen=True)
class Workspace:
    key: str
    title: str
    docks: tuple[str, ...]


WORKSPACES: dict[str, Workspace] = {
    "pm": Workspace("pm", "Portfolio manager", ("drift", "fx", "holdings", "proposals", "performance")),
    "compliance": Workspace("compliance", "Compliance", ("approvals", "audit", "reconcile", "holdings")),
    "trader": Workspace("trader", "Trader", ("orders", "executions", "allocations", "clock", "sessions")),
}


def _show(docks: dict[str, QDockWidget], ws: Workspace) -> None:
    """Docks must be visible before resizeDocks can size them."""
    for name in ws.docks:
        docks[name].show()


def arrange(window: QMainWindow, docks: dict[str, QDockWidget], key: str) -> None:
    """Place the workspace's docks; hide every other dock."""
    ws = WORKSPACES[key]
    for name, dock in docks.items():
        if name not in ws.docks:
            dock.hide()
        dock.setFloating(False)
    left = Qt.DockWidgetArea.LeftDockWidgetArea
    for name in ws.docks:
        window.removeDockWidget(docks[name])
    w, h = max(window.width(), 800), max(window.height(), 600)
    if key == "pm":
        window.addDockWidget(left, docks["drift"])
        window.splitDockWidget(docks["drift"], docks["holdings"], Qt.Orientation.Vertical)
        window.splitDockWidget(docks["drift"], docks["fx"], Qt.Orientation.Horizontal)
        window.splitDockWidget(docks["holdings"], docks["performance"], Qt.Orientation.Horizontal)
        window.tabifyDockWidget(docks["holdings"], docks["proposals"])
        _show(docks, ws)
        window.resizeDocks(
            [docks["drift"], docks["fx"]], [int(w * 0.52), int(w * 0.48)], Qt.Orientation.Horizontal
        )
        window.resizeDocks(
            [docks["holdings"], docks["performance"]],
            [int(w * 0.55), int(w * 0.45)],
            Qt.Orientation.Horizontal,
        )
        window.resizeDocks(
            [docks["drift"], docks["holdings"]], [int(h * 0.45), int(h * 0.55)], Qt.Orientation.Vertical
        )
        docks["holdings"].raise_()
    elif key == "compliance":
        window.addDockWidget(left, docks["approvals"])
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, docks["reconcile"])
        window.tabifyDockWidget(docks["reconcile"], docks["holdings"])
        window.splitDockWidget(docks["approvals"], docks["audit"], Qt.Orientation.Vertical)
        _show(docks, ws)
        docks["reconcile"].raise_()
        window.resizeDocks(
            [docks["approvals"], docks["reconcile"]], [int(w * 0.5), int(w * 0.5)], Qt.Orientation.Horizontal
        )
        window.resizeDocks(
            [docks["approvals"], docks["audit"]], [int(h * 0.5), int(h * 0.5)], Qt.Orientation.Vertical
        )
    else:
        window.addDockWidget(left, docks["orders"])
        window.splitDockWidget(docks["orders"], docks["executions"], Qt.Orientation.Vertical)
        window.splitDockWidget(docks["orders"], docks["clock"], Qt.Orientation.Horizontal)
        window.tabifyDockWidget(docks["clock"], docks["sessions"])
        window.tabifyDockWidget(docks["executions"], docks["allocations"])
        _show(docks, ws)
        docks["clock"].raise_()
        docks["executions"].raise_()
        window.resizeDocks(
            [docks["orders"], docks["executions"]], [int(h * 0.55), int(h * 0.45)], Qt.Orientation.Vertical
        )
        window.resizeDocks(
            [docks["orders"], docks["clock"]], [int(w * 0.55), int(w * 0.45)], Qt.Orientation.Horizontal
        )
