"""The OMS's controls as required ports, and the rule that a failing control refuses the action.

Compliance's checker and re-check, accounting's booker, the permission check and the kill switch
are constructor arguments of every OrderManager (engine.oms.build wires the real ones). A control
that raises anything but its own refusal (a WorkstationError such as PermissionDenied or
ComplianceBlocked) refuses the action with ControlFailed naming the control: fail closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.oms.errors import ControlFailed

log = logging.getLogger(__name__)


class KillSwitchPort(Protocol):
    """Which of these accounts may route now, and whose orders are stopped
    (engine.compliance.killswitch.KillSwitchGate)."""

    def allowed(self, session: Session, account_codes: set[str]) -> set[str]: ...

    def stopped_traders(self, session: Session, usernames: set[str]) -> dict[str, str]:
        """Those of these traders whose orders a trader kill switch stops -> why."""
        ...


@contextmanager
def guarded(control: str) -> Iterator[None]:
    """Run a control: its own refusals pass through; any other failure refuses the action."""
    try:
        yield
    except WorkstationError:
        raise
    except Exception as exc:
        log.error("%s failed (%s: %s): action refused", control, type(exc).__name__, exc)
        raise ControlFailed(f"{control} failed ({type(exc).__name__}: {exc}): action refused") from exc


class ApprovalCases(Protocol):
    """Compliance's approval cases for orders (engine.compliance.order_cases.OrderApprovalCases)."""

    def open(self, session: Session, order_ids: Sequence[int], username: str) -> None:
        """Open (and queue for a reviewer) the case of each order compliance flagged."""
        ...

    def decide(self, session: Session, order_id: int, username: str, reason_code: str, comment: str) -> bool:
        """`username` approves the order's case (four-eyes applies); True once the case is approved."""
        ...

    def approved(self, session: Session, order_ids: Sequence[int]) -> set[int]:
        """Those of these orders whose case a reviewer approved (they may be released)."""
        ...

    def settle(self, session: Session, order_id: int, username: str) -> None:
        """Before `username` changes a released order: an approved case for its current terms is
        released to trading, so new terms are re-checked against it (not refused as unreleased)."""
        ...
