"""Errors of access control beyond PermissionDenied (in engine.errors)."""

from __future__ import annotations

from engine.errors import WorkstationError


class AuthenticationFailed(WorkstationError):
    """Wrong user name or password, or the user is locked out or inactive (says which, safely)."""


class SegregationOfDuties(WorkstationError):
    """The action would let one person both make and approve (or release) the same trade."""


class LastAdmin(WorkstationError):
    """The change would leave the firm with no active admin who can sign in."""


class SecondFactorMissing(AuthenticationFailed):
    """The password was right, but the role needs a second factor the user has not enrolled yet."""


class SecondFactorUnavailable(AuthenticationFailed):
    """The password was right, but the second factor cannot be checked (its key is missing): refused."""
