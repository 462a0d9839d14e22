"""Batched appends (order changes, fills): single entries and batches interleave into one chain,
and the head names the newest entry, whichever statements each append used."""

from __future__ import annotations

from sqlalchemy import event, func, select

from engine.audit.batch import AuditDraft, record_many
from engine.audit.chain import record
from engine.audit.tables import AuditHead
from engine.audit.verify import verify_chain
from engine.store.database import Database
from engine.store.people import AuditEntry


def test_single_and_batched_appends_chain_and_the_head_names_the_last(database: Database) -> None:
    sizes = [1, 3, 1, 1, 50, 1]
    statements: list[int] = []
    for n, size in enumerate(sizes):
        seen: list[str] = []

        def count(*args: object, seen: list[str] = seen) -> None:
            seen.append(str(args[2]))

        event.listen(database.engine, "before_cursor_execute", count)
        try:
            with database.transaction() as s:
                drafts = [
                    AuditDraft("oms", "order.state", "order", f"{n}-{i}", after={"i": i}) for i in range(size)
                ]
                assert record_many(s, drafts) == size
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
        statements.append(len([q for q in seen if not q.upper().startswith(("BEGIN", "COMMIT"))]))
        with database.transaction() as s:  # the one-by-one path in between
            record(s, "co1", "rule.save", "rule", f"R{n}", None, {"n": n}, "change")
    with database.session() as s:
        head = s.get(AuditHead, 1)
        assert head is not None
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        total = s.scalar(select(func.count()).select_from(AuditEntry))
        assert (head.last_id, head.hash, head.seq) == (last.id, last.hash, total)
        assert total == sum(sizes) + len(sizes)
        report = verify_chain(s)
    assert report.ok and report.entries == total
    # One entry: the head's bump (returning the last hash), the users, the insert (returning its
    # id), the head's new hash. A batch: one executemany, then the newest id.
    assert statements[0] == 4 and statements[1] == 5 and statements[4] == 5
