"""The retention purge on a book with eleven years of history (tests/engine/retention/oldbook.py),
on SQLite and PostgreSQL: what goes, what stays open, and an audit chain that still verifies
under a signed checkpoint, refusing a tampered checkpoint, a wrong key or a gap."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from engine.audit.chain import record
from engine.audit.signing import Ed25519Signer
from engine.audit.tables import AuditCheckpoint
from engine.audit.verify import verify_chain
from engine.compliance.tables import ApprovalCase, ApprovalDecision, CheckResult
from engine.errors import WorkstationError
from engine.oms.tables import Execution, Order, OrderEvent
from engine.rebalance.tables import Proposal
from engine.reconcile.tables import Break, BreakComment
from engine.retention.purge import purge
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.retention.oldbook import BEFORE, OLD, OLD_FIRST, TODAY, Ids, build_oldbook

KEY = Ed25519Signer.generate()


def _purge(database: Database, dry_run: bool = False, signer: Ed25519Signer = KEY, **kw: object):  # type: ignore[no-untyped-def]
    with database.transaction() as s:
        return purge(
            s,
            "ad1",
            BEFORE,
            signer=lambda: signer,
            verifier=signer.verifier,
            dry_run=dry_run,
            today=TODAY,
            **kw,
        )  # type: ignore[arg-type]


def _ids(database: Database, column) -> set[int]:  # type: ignore[no-untyped-def]
    with database.session() as s:
        return set(s.scalars(select(column)))


@pytest.fixture
def book(database: Database) -> tuple[Database, Ids]:
    return database, build_oldbook(database)


def test_purge_removes_what_expired_and_keeps_what_is_open(book: tuple[Database, Ids]) -> None:
    database, ids = book
    with database.session() as s:
        entries_before = s.scalar(select(func.count()).select_from(AuditEntry))
    dry = _purge(database, dry_run=True)
    assert _ids(database, Order.id) >= {ids.old_filled, ids.old_live_gtc}  # a dry run writes nothing
    result = _purge(database)
    assert result.total() == dry.total() > 0
    orders = _ids(database, Order.id)
    # Final and old: gone, with their executions and events; a block with every child gone too.
    assert ids.old_filled not in orders and ids.old_block not in orders and ids.old_child not in orders
    assert _ids(database, Execution.order_id) & {ids.old_filled} == set()
    assert _ids(database, OrderEvent.order_id) & {ids.old_filled} == set()
    # Kept: the live GTC order, anything recent, and a block whose child is recent.
    assert {ids.old_live_gtc, ids.recent_filled, ids.kept_child} <= orders
    assert ids.kept_child - 1 in orders  # its (old, filled) block
    cases = _ids(database, ApprovalCase.id)
    assert ids.old_closed_case not in cases and ids.old_open_case in cases
    assert _ids(database, ApprovalDecision.id) == set()
    assert _ids(database, CheckResult.id) == set()
    breaks = _ids(database, Break.id)
    assert ids.old_resolved_break not in breaks and ids.old_open_break in breaks
    assert _ids(database, BreakComment.id) == set()
    proposals = _ids(database, Proposal.id)
    assert ids.old_rejected_proposal not in proposals and ids.old_open_proposal in proposals
    # Audit: the oldest run goes, up to (not including) the entry about the live order.
    with database.session() as s:
        first_kept = s.scalar(select(func.min(AuditEntry.id)))
        assert first_kept == ids.live_entry
        cp = s.scalars(select(AuditCheckpoint)).one()
        assert cp.last_id == ids.live_entry - 1 and cp.count >= OLD_FIRST and cp.key_id == KEY.key_id
        assert cp.first_at == OLD
        entries_after = s.scalar(select(func.count()).select_from(AuditEntry))
        assert entries_after == entries_before - cp.count + 1  # plus the purge's own entry
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert last.action == "retention.purge" and last.username == "ad1"
        assert last.after["kinds"]["orders"]["rows"]["orders"] == 3
        assert last.after["checkpoint"]["id"] == cp.id
        report = verify_chain(s, verifier=KEY.verifier())
    assert report.ok, report.problem
    assert (report.entries, report.purged, report.checkpoints) == (entries_after, cp.count, 1)


def test_a_tampered_checkpoint_a_wrong_key_or_no_key_fails_verify(book: tuple[Database, Ids]) -> None:
    database, _ = book
    _purge(database)
    with database.session() as s:
        cp_id = s.scalar(select(AuditCheckpoint.id))
        assert not verify_chain(s).ok  # no verifier: a checkpoint cannot be taken on trust
        assert "cannot be checked" in (verify_chain(s).problem or "")
        other = Ed25519Signer.generate().verifier()
        wrong = verify_chain(s, verifier=other)
        assert (
            not wrong.ok and wrong.broken_checkpoint_id == cp_id and "signed by key" in (wrong.problem or "")
        )
    with database.transaction() as s:
        s.execute(
            update(AuditCheckpoint).values(
                count=AuditCheckpoint.count - 1, purged_total=AuditCheckpoint.purged_total - 1
            )
        )
    with database.session() as s:
        bad = verify_chain(s, verifier=KEY.verifier())
    assert not bad.ok and bad.broken_checkpoint_id == cp_id
    assert f"checkpoint {cp_id}" in (bad.problem or "") and "signature does not match" in (bad.problem or "")


def test_a_changed_signature_fails_verify(book: tuple[Database, Ids]) -> None:
    database, _ = book
    _purge(database)
    with database.transaction() as s:
        sig = s.scalar(select(AuditCheckpoint.signature))
        flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
        s.execute(update(AuditCheckpoint).values(signature=flipped))
    with database.session() as s:
        bad = verify_chain(s, verifier=KEY.verifier())
    assert not bad.ok and "signature does not match" in (bad.problem or "")


def test_a_kept_entry_changed_or_a_gap_after_the_checkpoint_fails_as_before(
    book: tuple[Database, Ids],
) -> None:
    database, ids = book
    _purge(database)
    with database.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids.live_entry + 1).values(reason="edited"))
    with database.session() as s:
        bad = verify_chain(s, verifier=KEY.verifier())
    assert (
        not bad.ok
        and bad.first_broken_id == ids.live_entry + 1
        and "changed after it was written" in (bad.problem or "")
    )
    with database.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids.live_entry + 1).values(reason=None))
        s.execute(delete(AuditEntry).where(AuditEntry.id == ids.live_entry))  # the first kept entry
    with database.session() as s:
        gap = verify_chain(s, verifier=KEY.verifier())
    assert not gap.ok and gap.first_broken_id == ids.live_entry + 1
    assert "does not continue checkpoint" in (gap.problem or "")


def test_a_second_purge_continues_the_first_checkpoint(book: tuple[Database, Ids]) -> None:
    database, ids = book
    _purge(database)
    with database.transaction() as s:  # the GTC order expires; the next purge may pass its entry
        s.execute(update(Order).where(Order.id == ids.old_live_gtc).values(status="expired", updated_at=OLD))
        s.execute(update(ApprovalCase).where(ApprovalCase.id == ids.old_open_case).values(state="rejected"))
    second = _purge(database)
    with database.session() as s:
        cps = s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
        assert (
            len(cps) == 2 and cps[1].first_id == ids.live_entry and cps[1].first_prev_hash == cps[0].last_hash
        )
        report = verify_chain(s, verifier=KEY.verifier())
    assert report.ok, report.problem
    assert report.checkpoints == 2 and report.purged == cps[0].count + cps[1].count
    assert second.checkpoint is not None and second.checkpoint["id"] == cps[1].id


def test_a_broken_chain_is_never_purged(book: tuple[Database, Ids]) -> None:
    database, ids = book
    with database.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids.live_entry + 2).values(reason="edited"))
    with pytest.raises(WorkstationError, match="purge refused"):
        _purge(database)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0
        assert ids.old_filled in set(s.scalars(select(Order.id)))  # all or nothing


def test_nothing_dated_on_or_after_before_goes(book: tuple[Database, Ids]) -> None:
    database, ids = book
    with database.transaction() as s:
        result = purge(s, "ad1", date(2015, 3, 1), signer=lambda: KEY, verifier=KEY.verifier, today=TODAY)
    assert result.total() == 0 and result.checkpoint is None
    assert ids.old_filled in _ids(database, Order.id)
    with database.session() as s:
        assert verify_chain(s).ok  # no checkpoint: verifies without a key, as before


def test_fix_files_older_than_the_period_are_listed_and_removed_after_commit(
    book: tuple[Database, Ids], tmp_path: Path
) -> None:
    database, _ = book
    store = tmp_path / "fix" / "store"
    store.mkdir(parents=True)
    old, new = store / "FIX.4.4-A-B.body", store / "FIX.4.4-A-C.body"
    old.write_text("x")
    new.write_text("y")
    os.utime(old, (OLD.timestamp(), OLD.timestamp()))
    result = _purge(database, fix_dirs=[store])
    assert result.files == [old]
    from engine.retention.purge import remove_files

    assert remove_files(result.files) == [] and not old.exists() and new.exists()


def test_the_period_is_data_an_admin_changes_audited(book: tuple[Database, Ids]) -> None:
    from engine.retention.policy import periods, set_period

    database, ids = book
    with database.transaction() as s:
        assert periods(s)["orders"].months == 84 and periods(s)["desk_feed"].months == 12
        set_period(s, "ad1", "orders", 1200, "regulator asked for longer")
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert (last.action, last.before, last.after) == (
            "retention.policy",
            {"months": 84},
            {"months": 1200},
        )
    _purge(database)
    assert ids.old_filled in _ids(database, Order.id)  # 100 years: nothing of 2015 goes
    with database.transaction() as s, pytest.raises(WorkstationError, match="unknown record kind"):
        set_period(s, "ad1", "nope", 12, "why")


def test_months_before_keeps_the_day_or_the_months_last() -> None:
    from engine.retention.policy import months_before

    assert months_before(date(2026, 12, 7), 84) == date(2019, 12, 7)
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 1) == date(2025, 12, 15)


def test_record_after_purge_continues_the_chain(book: tuple[Database, Ids]) -> None:
    database, _ = book
    _purge(database)
    with database.transaction() as s:
        record(s, "co1", "test.after", "thing", 1)
    with database.session() as s:
        assert verify_chain(s, verifier=KEY.verifier()).ok
