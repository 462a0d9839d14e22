"""Accounting errors: a booking that cannot be applied changes nothing and says why."""

from __future__ import annotations

from engine.errors import WorkstationError


class BookingError(WorkstationError):
    """A trade, FX trade or corporate action that cannot be booked (named field and reason)."""

    def __init__(self, source_ref: str, field: str, reason: str) -> None:
        self.source_ref = source_ref
        self.field = field
        self.reason = reason
        super().__init__(f"{source_ref}: {field}: {reason}")
