"""Reading the change feed: change_log rows after a sequence number, as immutable Change values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Text, any_, bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY

from engine.shared.tables import ChangeLog
from engine.store.base import UTCDateTime

_T = ChangeLog.__table__
_AT = UTCDateTime()


@dataclass(frozen=True)
class Change:
    """One committed change to shared state."""

    seq: int
    type: str
    action: str
    ids: dict[str, Any]
    state: str | None
    who: str | None
    when: datetime

    def as_json(self) -> dict[str, Any]:
        """The `events watch --json` line (contract: keys seq, type, action, ids, state, who, when)."""
        return {
            "seq": self.seq,
            "type": self.type,
            "action": self.action,
            "ids": self.ids,
            "state": self.state,
            "who": self.who,
            "when": self.when.isoformat(),
        }


def _when(value: Any, dialect: Any) -> datetime:
    if isinstance(value, str):  # SQLite text 'YYYY-MM-DD HH:MM:SS.ffffff', naive UTC
        value = datetime.fromisoformat(value)
    out = _AT.process_result_value(value, dialect)
    assert out is not None
    return out


def changes_after(conn: Connection, seq: int, limit: int = 5000, also: tuple[int, ...] = ()) -> list[Change]:
    """Changes with seq > `seq` (and the listed gap seqs), oldest first, at most `limit`."""
    cond = _T.c.seq > seq
    if also and conn.dialect.name == "postgresql":  # one array parameter, however many holes
        cond = cond | (_T.c.seq == any_(bindparam("holes", list(also), type_=ARRAY(BigInteger()))))
    elif also:
        cond = cond | _T.c.seq.in_(also)
    rows = conn.execute(
        select(
            _T.c.seq,
            _T.c.type,
            _T.c.action,
            _T.c.ids,
            _T.c.state,
            _T.c.who,
            type_coerce(_T.c.at, Text).label("at"),
        )
        .where(cond)
        .order_by(_T.c.seq)
        .limit(limit)
    ).all()
    return [
        Change(int(r.seq), r.type, r.action, json.loads(r.ids), r.state, r.who, _when(r.at, conn.dialect))
        for r in rows
    ]


def last_seq(conn: Connection) -> int:
    """The highest sequence number written so far (0 for an empty log)."""
    return int(conn.execute(select(func.coalesce(func.max(_T.c.seq), 0))).scalar_one())
