"""Reading the change feed: change_log rows after a sequence number, as immutable Change values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Text, func, select, type_coerce, union_all

from engine.shared.tables import ChangeLog
from engine.store.base import UTCDateTime

_T = ChangeLog.__table__
_AT = UTCDateTime()


class Change(NamedTuple):
    """One committed change to shared state (a tuple: a catch-up makes thousands at once)."""

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
    if value.tzinfo is UTC:
        return value
    out = _AT.process_result_value(value, dialect)
    assert out is not None
    return out


def _select(cond: Any, pg: bool) -> Any:
    # PostgreSQL: timestamptz straight from the driver (parsed in C); SQLite: its text, parsed here
    at = _T.c.at if pg else type_coerce(_T.c.at, Text).label("at")
    return select(_T.c.seq, _T.c.type, _T.c.action, _T.c.ids, _T.c.state, _T.c.who, at).where(cond)


def spans(seqs: tuple[int, ...] | list[int], join: int = 256) -> list[tuple[int, int]]:
    """Sorted seqs as (lo, hi) spans, merging seqs less than `join` apart (one span per cluster)."""
    out: list[tuple[int, int]] = []
    for q in sorted(seqs):
        if out and q - out[-1][1] < join:
            out[-1] = (out[-1][0], q)
        else:
            out.append((q, q))
    return out


def changes_after(conn: Connection, seq: int, limit: int = 5000, also: tuple[int, ...] = ()) -> list[Change]:
    """Changes with seq > `seq` (at most `limit` of them) and those of the listed gap seqs, oldest
    first.

    The gaps are read by index range scans over clusters of them, not `seq = ANY(:holes)` OR'ed
    with `seq > :s`: psycopg prepares a statement after five runs, and PostgreSQL's generic plan
    for that walked the whole primary key testing every row against the holes array (107 ms at
    20,000 rows and 1,000 holes on an idle machine); and even as an index condition, `= ANY`
    descends the index once per hole, and the holes are rows a long transaction is writing right
    now, on the pages it is writing (p99 285 ms for that query in the benchmark's fill phase).
    The holes of one transaction are nearly contiguous, so a range per cluster reads each index
    page once; rows in a span that are not holes (seen already) are dropped here. All the parts
    go as one UNION ALL statement: one round trip per catch-up, and one snapshot.
    """
    pg = conn.dialect.name == "postgresql"
    newer = _select(_T.c.seq > seq, pg).order_by(_T.c.seq).limit(limit).subquery()
    query: Any = select(*newer.c)
    holes = {h for h in also if h <= seq}  # any above `seq` come with the newer rows, in order
    if holes:  # one statement, one round trip, one snapshot: the new rows and every hole cluster
        ranges = [_T.c.seq == lo if lo == hi else _T.c.seq.between(lo, hi) for lo, hi in spans(list(holes))]
        query = union_all(query, *(_select(r, pg) for r in ranges))
    rows = sorted(
        {r[0]: r for r in conn.execute(query).all() if r[0] > seq or r[0] in holes}.values(),
        key=lambda r: r[0],
    )
    return [
        Change(int(q), t, a, json.loads(ids), st, who, _when(at, conn.dialect))
        for q, t, a, ids, st, who, at in rows
    ]


def last_seq(conn: Connection) -> int:
    """The highest sequence number written so far (0 for an empty log)."""
    return int(conn.execute(select(func.coalesce(func.max(_T.c.seq), 0))).scalar_one())
