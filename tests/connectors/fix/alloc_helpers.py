"""Helpers for the allocation-over-FIX tests: instructions, audit actions, a block of three accounts."""

from __future__ import annotations

from sqlalchemy import select

from engine.oms.tables import AllocInstruction
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.connectors.fix.harness import Oms, draft


def instructions(db: Database, block_id: int | None = None) -> list[AllocInstruction]:
    with db.session() as s:
        q = select(AllocInstruction).order_by(AllocInstruction.id)
        if block_id is not None:
            q = q.where(AllocInstruction.block_id == block_id)
        return list(s.scalars(q))


def actions(db: Database, alloc_id: str) -> list[str]:
    """The audit actions of one instruction, in order."""
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "alloc_instruction", AuditEntry.entity_id == alloc_id)
                .order_by(AuditEntry.id)
            )
        )


def filled_block(
    oms: Oms, qtys: tuple[int, ...] = (300, 500, 700), symbol: str = "AAPL", **kw: object
) -> int:
    """A block of ACC1..ACC3 routed and filled at the broker; returns the block's id."""
    accounts = ("ACC1", "ACC2", "ACC3")
    ids = oms.create(*[draft(a, symbol, q, **kw) for a, q in zip(accounts, qtys)])  # type: ignore[arg-type]
    [bid] = oms.manager.build_blocks(ids)
    assert oms.manager.route([bid], outside_hours=True).sent == [bid]
    block = oms.wait(bid)
    assert (block.status, block.cum_qty) == ("filled", sum(qtys))
    return bid


def wait_status(oms: Oms, block_id: int, statuses: set[str], timeout: float = 20) -> AllocInstruction:
    """Run the OMS loop until the block's latest instruction is in `statuses`."""

    def latest() -> AllocInstruction | None:
        found = instructions(oms.database, block_id)
        return found[-1] if found else None

    ok = oms.loop.run_until(lambda: (x := latest()) is not None and x.status in statuses, timeout)
    got = latest()
    assert ok and got is not None, f"allocation is {got.status if got else None}, expected {sorted(statuses)}"
    return got
