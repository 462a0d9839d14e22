"""Catch-up: a change whose seq was taken before a later one committed is delivered once, when its
transaction commits, and a read of the holes never returns what was already seen; and a burst of
commits while a desk is busy refreshing reaches it as one batch (one catch-up), each change once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import text

from engine.shared.feed import Change, changes_after, last_seq, spans
from engine.shared.listener import ChangeListener
from engine.shared.triggers import CHANNEL
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


@pg_only
def test_a_burst_committed_while_the_desk_is_busy_arrives_as_one_batch_each_change_once(
    database: Database,
) -> None:
    """Coalescing: 50 commits (50 notifications) during one slow refresh make one catch-up."""
    batches: list[list[int]] = []
    busy = threading.Event()
    release = threading.Event()

    def on_changes(batch: Sequence[Change]) -> None:
        batches.append([c.seq for c in batch])
        busy.set()
        release.wait(30)  # the desk is refreshing: everything below commits meanwhile

    url = database.url.render_as_string(hide_password=False)
    listener = ChangeListener(url, on_changes, poll=60.0).start()
    try:
        deadline = time.monotonic() + 30
        while not listener.online:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        seqs = []
        with database.engine.connect() as conn:
            for i in range(50):
                with conn.begin():
                    seqs.append(conn.execute(INSERT, {"state": f"burst{i}"}).scalar_one())
                    conn.execute(text(f"SELECT pg_notify('{CHANNEL}', '')"))
                if i == 0:
                    assert busy.wait(30)  # the first change is being refreshed
        release.set()
        # A sentinel committed after the burst: the 49 notifications left over are handled before
        # its own, so once it arrives anything they would deliver again has arrived too.
        with database.engine.connect() as conn, conn.begin():
            sentinel = conn.execute(INSERT, {"state": "sentinel"}).scalar_one()
            conn.execute(text(f"SELECT pg_notify('{CHANNEL}', '')"))
        deadline = time.monotonic() + 30
        while not any(sentinel in b for b in batches):
            assert time.monotonic() < deadline, batches
            time.sleep(0.02)
    finally:
        release.set()
        listener.stop()
    assert [s for b in batches for s in b] == [*seqs, sentinel]  # each once, in commit (= seq) order
    # The other 49 in one catch-up (the sentinel after them, in that batch or its own).
    assert batches[0] == seqs[:1] and batches[1][:49] == seqs[1:]
    assert batches[1:] in ([seqs[1:], [sentinel]], [[*seqs[1:], sentinel]])
