"""Who is acting: tells the change-feed triggers the desk user of the current transaction."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def set_actor(session: Session, username: str | None) -> None:
    """On PostgreSQL, `who` of every change_log row this transaction writes (SET LOCAL semantics)."""
    if username and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('workstation.user', :u, true)"), {"u": username})
