"""The audit chain: appends link by hash; verify finds an edited, removed or inserted entry."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import delete, select, text, update

from engine.audit.canonical import entry_hash
from engine.audit.chain import record
from engine.audit.tables import AuditHead
from engine.audit.verify import verify_chain
from engine.store.database import Database
from engine.store.people import AuditEntry


def _fill(db: Database, n: int = 5) -> list[int]:
    ids = []
    with db.transaction() as s:
        for i in range(n):
            e = record(
                s,
                "co1",
                "rule.save",
                "rule",
                f"R{i}",
                {"v": i},
                {"v": Decimal("0.1") * i, "at": datetime(2026, 1, 1, tzinfo=UTC)},
                f"change {i}",
            )
            ids.append(e.id)
    return ids


def test_entries_are_chained_and_verify(database: Database) -> None:
    ids = _fill(database)
    with database.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert rows[0].prev_hash is None
        for a, b in itertools.pairwise(rows):
            assert b.prev_hash == a.hash
        # Independent recomputation of the first hash.
        e = rows[0]
        assert e.hash == entry_hash(
            None,
            e.at,
            "co1",
            "rule.save",
            "rule",
            "R0",
            {"v": 0},
            {"v": "0.0", "at": "2026-01-01T00:00:00.000000+00:00"},
            "change 0",
        )
        report = verify_chain(s)
    assert report.ok and report.entries == len(ids) == 5


def test_verify_detects_a_tampered_row(database: Database) -> None:
    ids = _fill(database)
    with database.transaction() as s:  # someone edits the database behind the application's back
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(reason="nothing to see"))
    with database.session() as s:
        report = verify_chain(s)
    assert (
        not report.ok
        and report.first_broken_id == ids[2]
        and "changed after it was written" in str(report.problem)
    )


def test_verify_detects_a_deleted_row_and_a_deleted_tail(database: Database) -> None:
    ids = _fill(database)
    with database.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    with database.session() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2]
    db2 = database
    with db2.transaction() as s:  # restore a consistent chain by deleting everything after id 0
        s.execute(delete(AuditEntry).where(AuditEntry.id > ids[0]))
    with db2.session() as s:
        report = verify_chain(s)
    assert not report.ok and "deleted" in str(report.problem)


def test_rehashing_an_edited_row_is_still_detected(database: Database) -> None:
    """A forger who recomputes the edited row's own hash breaks the next link instead."""
    ids = _fill(database)
    with database.transaction() as s:
        e = s.get(AuditEntry, ids[1])
        forged = entry_hash(
            e.prev_hash, e.at, "ad1", e.action, e.entity, e.entity_id, e.before, e.after, e.reason
        )
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(username="ad1", hash=forged))
    with database.session() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == ids[2]


def test_head_counts_every_append_and_rolled_back_appends_leave_no_trace(sqlite_database: Database) -> None:
    _fill(sqlite_database, 3)
    try:
        with sqlite_database.transaction() as s:
            record(s, "co1", "x", "y")
            raise RuntimeError("caller fails")
    except RuntimeError:
        pass
    with sqlite_database.session() as s:
        head = s.get(AuditHead, 1)
        assert head is not None and head.seq == 3
        assert verify_chain(s).ok


def test_concurrent_writers_do_not_fork_the_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                with database.transaction() as s:
                    record(s, f"u{k}", "t", "e", f"{k}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with database.session() as s:
        assert verify_chain(s).ok and verify_chain(s).entries == 30
        assert s.execute(text("select count(distinct prev_hash) from audit_log")).scalar_one() == 29
