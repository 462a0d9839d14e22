"""Optimistic concurrency: flush versioned rows, and turn a lost race into ConcurrentChange.

Orders, proposals and approval cases carry a `version` column that SQLAlchemy checks in every
ORM UPDATE (`version_id_col`). When another desk committed first, the UPDATE matches no row and
SQLAlchemy raises StaleDataError; `flush_or_conflict` re-reads the item on a fresh connection
and raises ConcurrentChange naming it and its current state instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.shared.errors import ConcurrentChange

_LABEL = {"orders": "order", "proposals": "proposal", "compliance_approvals": "approval case"}
_STATE = ("status", "state")


def _versioned(session: Session) -> list[tuple[Any, Any, Any]]:
    """(mapper, primary key, version as read) of each dirty versioned object."""
    out = []
    for obj in session.dirty:
        st = inspect(obj)
        m = st.mapper
        if m.version_id_col is None or st.identity is None:
            continue
        prop = m.get_property_by_column(m.version_id_col)
        hist = st.attrs[prop.key].history
        read = hist.deleted[0] if hist.deleted else st.attrs[prop.key].loaded_value
        out.append((m, st.identity, read))
    return out


def describe_current(session: Session, mapper: Any, pk: Any, read: Any) -> tuple[str, str] | None:
    """(item, current state) of a row changed since version `read`, read on a new connection."""
    table = mapper.local_table
    cols = [c for c in table.c if c.name in (*_STATE, "cl_ord_id", "entity", "entity_id", "updated_at")]
    vcol = mapper.version_id_col
    pkcol = mapper.primary_key[0]
    bind = session.get_bind()
    with (bind.engine if isinstance(bind, Connection) else bind).connect() as conn:
        row = conn.execute(select(vcol, *cols).where(pkcol == pk[0])).mappings().first()
    if row is None:
        return f"{_LABEL.get(table.name, table.name)} {pk[0]}", "deleted"
    if read is not None and row[vcol.name] == read:
        return None
    label = _LABEL.get(table.name, table.name)
    name = row.get("cl_ord_id") or (f"{row['entity']} {row['entity_id']}" if "entity" in row else str(pk[0]))
    state = next((row[k] for k in _STATE if k in row), "?")
    return f"{label} {name}", f"{state} (version {row[vcol.name]})"


@contextmanager
def conflicts(session: Session) -> Iterator[None]:
    """Inside: any flush (explicit or autoflush) that loses a race raises ConcurrentChange."""
    watched: list[tuple[Any, Any, Any]] = []

    def snapshot(sess: Session, _ctx: Any, _instances: Any) -> None:
        watched[:] = _versioned(sess)

    event.listen(session, "before_flush", snapshot)
    try:
        yield
    except StaleDataError:
        for mapper, pk, read in watched:
            found = describe_current(session, mapper, pk, read)
            if found is not None:
                raise ConcurrentChange(*found) from None
        raise ConcurrentChange("an item", "changed at another desk") from None
    finally:
        event.remove(session, "before_flush", snapshot)


def flush_or_conflict(session: Session) -> None:
    """session.flush(), raising ConcurrentChange (item, current state) if another desk won."""
    with conflicts(session):
        session.flush()
