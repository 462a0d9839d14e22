"""Errors of the reconciliation workflow."""

from __future__ import annotations

from engine.errors import WorkstationError


class BreakWorkflowError(WorkstationError):
    """A break or adjustment cannot be changed that way (wrong status, missing resolution...)."""
