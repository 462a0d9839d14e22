"""Catch-up of holes: a change whose seq was taken before a later one committed is delivered once,
when its transaction commits, and a read of the holes never returns what was already seen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.shared.feed import changes_after, last_seq, spans
from engine.store.database import Database

pg_only = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
INSERT = text(
    "INSERT INTO change_log (at, type, action, ids, state, who) "
    "VALUES (CURRENT_TIMESTAMP, 'order', 'test', '{}', :state, 'tr1') RETURNING seq"
)


def test_spans_cluster_nearby_holes() -> None:
    assert spans([]) == []
    assert spans([7]) == [(7, 7)]
    assert spans([1, 2, 3, 500, 501, 9000], join=256) == [(1, 3), (500, 501), (9000, 9000)]
    assert spans((5, 3, 300), join=256) == [(3, 5), (300, 300)]


@pg_only
def test_a_hole_filled_by_a_late_commit_is_delivered_once_and_nothing_seen_comes_again(
    database: Database,
) -> None:
    start = 0
    with database.engine.connect() as reader:
        start = last_seq(reader)
    with database.engine.connect() as slow, database.engine.connect() as fast:
        slow_tx = slow.begin()  # a long transaction takes its seqs first ...
        held = [slow.execute(INSERT, {"state": f"slow{i}"}).scalar_one() for i in range(3)]
        with fast.begin():  # ... a short one commits in between and after
            mid = fast.execute(INSERT, {"state": "fast-mid"}).scalar_one()
        held += [slow.execute(INSERT, {"state": "slow3"}).scalar_one()]
        with fast.begin():
            top = fast.execute(INSERT, {"state": "fast-top"}).scalar_one()
        assert held[0] < mid < held[-1] < top
        with database.engine.connect() as reader:
            first = changes_after(reader, start)
            assert [c.seq for c in first] == [mid, top]  # the slow ones are holes for now
            assert changes_after(reader, top, also=tuple(held)) == []  # still running: nothing
        slow_tx.commit()
    with database.engine.connect() as reader:
        late = changes_after(reader, top, also=tuple(held))
    # every hole once, in seq order, and `mid` (inside the holes' span, seen already) not again
    assert [(c.seq, c.state) for c in late] == [(s, f"slow{i}") for i, s in enumerate(held)]
