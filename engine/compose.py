"""The engine's composition root for the OMS: one place that wires every control it needs.

The CLI, the desktop, the headless OMS and the benchmarks build their OrderManager here (the
workstation's composition root, workstation/compose.py, adds the FIX gateway and the store).
Compliance's checker and replace re-check, accounting's booker, the kill switch, compliance's
approval cases and the permission gate are always there: nothing is optional.
"""

from __future__ import annotations

from engine.access.guard import require
from engine.accounting.booking import LedgerBooker
from engine.clock import Clock, SystemClock
from engine.compliance.checker import ComplianceChecker
from engine.compliance.killswitch import KillSwitchGate
from engine.compliance.order_cases import OrderApprovalCases
from engine.compliance.replace_check import ComplianceReplaceCheck
from engine.events import EventBus
from engine.oms.gateway import OrderGateway
from engine.oms.service import OrderManager
from engine.ports import MarketDataPort
from engine.store.database import Database


def build_order_manager(
    database: Database,
    *,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    gateway: OrderGateway | None = None,
    username: str = "oms",
    market_data: MarketDataPort | None = None,
) -> OrderManager:
    """The OMS with its real controls; `clock`/`bus` default to the system clock and a new bus;
    `market_data` gives arrival prices and market prints for TCA (none without it)."""
    clock = clock or SystemClock()
    checker = ComplianceChecker(clock=clock)
    return OrderManager(
        database,
        checker=checker,
        recheck=ComplianceReplaceCheck(checker),
        booker=LedgerBooker(),
        authorize=require,
        kill_switch=KillSwitchGate(),
        cases=OrderApprovalCases(),
        clock=clock,
        bus=bus or EventBus(),
        gateway=gateway,
        username=username,
        market_data=market_data,
    )
