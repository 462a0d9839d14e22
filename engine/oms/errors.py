"""Errors of the order management service."""

from __future__ import annotations

from engine.errors import WorkstationError


class RouteError(WorkstationError):
    """A message could not be handed to a broker session (unknown broker, not logged on)."""


class OrderRejected(WorkstationError):
    """A desk request on an order is not possible in its current state (e.g. cancel a filled order)."""


class ReplaceHeld(OrderRejected):
    """A loosened cancel/replace failed compliance's re-check: not sent, the order keeps working."""


class ControlFailed(WorkstationError):
    """A control (kill switch, compliance, permissions, re-check) failed: the action is refused."""
