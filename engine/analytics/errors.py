"""Analytics errors: an input that cannot give a number says which date and why."""

from __future__ import annotations

from engine.errors import WorkstationError


class AnalyticsError(WorkstationError):
    """The inputs do not define the figure asked for (too short, zero value, no rate exists...)."""


class MissingValueError(AnalyticsError):
    """An input series has a missing value; names the series and the first missing date."""
