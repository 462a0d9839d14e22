"""Errors of the shared desk: someone else changed it first; someone else holds the session."""

from __future__ import annotations

from engine.errors import WorkstationError


class ConcurrentChange(WorkstationError):
    """Another desk changed the item between your read and your write; yours was not applied."""

    def __init__(self, item: str, current: str) -> None:
        self.item = item
        self.current = current
        super().__init__(
            f"{item} was changed at another desk meanwhile; nothing was done. It is now {current}"
        )


class LeaseHeld(WorkstationError):
    """Another workstation holds the routing lease on a FIX session."""

    def __init__(self, session_key: str, owner: str, expires_at: object) -> None:
        self.session_key = session_key
        self.owner = owner
        super().__init__(f"FIX session {session_key} is routed by {owner} (lease until {expires_at})")
