"""'Substantially identical' securities for wash sales: configured groups, and ADR = ordinary.

A security's group is its IdenticalGroup code when one is configured; otherwise an ADR joins its
ordinary share's group and every other security is alone. The mapping is data: add rows to
identical_groups to join share classes or a fund and its twin.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import IdenticalGroup
from engine.store.reference import Security


def identical_securities(session: Session, security_id: int) -> set[int]:
    """Every security id substantially identical to `security_id` (itself included)."""
    configured = dict(session.execute(select(IdenticalGroup.security_id, IdenticalGroup.group_code)).all())
    adr: dict[int, int] = {
        sid: ordinary
        for sid, ordinary in session.execute(
            select(Security.id, Security.adr_ordinary_id).where(Security.adr_ordinary_id.is_not(None))
        )
        if ordinary is not None
    }

    def key(sid: int) -> str:
        if sid in configured:
            return f"G:{configured[sid]}"
        return f"S:{adr.get(sid, sid)}"

    target = key(security_id)
    candidates = {security_id} | set(configured) | set(adr) | set(adr.values())
    return {sid for sid in candidates if key(sid) == target}
