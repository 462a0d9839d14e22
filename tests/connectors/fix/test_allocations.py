"""FIX allocations over real sessions on 127.0.0.1: the OMS (quickfix initiator, this process)
against the SIMULATED broker (another process). A filled block's AllocationInstruction (35=J),
the broker's AllocationInstructionAck (35=P) and AllocationReport (35=AS); a rejection re-sent as
a Replace; a restart between J and P; an instruction nobody answers."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.fix.gateway import FixGateway
from engine.clock import ManualClock
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.tables import Allocation, Order
from engine.store.database import Database
from engine.views.allocations import allocations, instruction_list
from tests.conftest import migrated
from tests.connectors.fix.alloc_helpers import actions, filled_block, instructions, wait_status
from tests.connectors.fix.harness import OPEN, Oms, Sim, fix_config, simulators
from tests.engine.oms.book import PassAll, RecordingBooker, make_book, make_oms

H = "--ignore-market-hours"
SIMS = {
    "ok": (H, "--fill-parts", "2"),
    "unknown": (H, "--fill-parts", "1", "--unknown-alloc-accounts", "ACC2"),
    "silent": (H, "--fill-parts", "1", "--ignore-allocs"),
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sim]]:
    tmp = tmp_path_factory.mktemp("alloc-sims")
    yield from simulators(tmp, SIMS, clients="WS,WR,WH")


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Database]:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    yield db
    db.dispose()


def start(book: Database, tmp: Path, sim: Sim, sender: str = "WS", clock: ManualClock | None = None) -> Oms:
    sim.ready()
    return Oms(book, tmp, sim.port, checker=PassAll(), booker=RecordingBooker(), sender=sender, clock=clock)


def journal(sim: Sim, alloc_id: str) -> list[dict[str, object]]:
    return [e for e in sim.events() if e["event"].startswith("allocation") and e["alloc_id"] == alloc_id]


def test_filled_block_is_allocated_accepted_and_reported(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    oms = start(book, tmp_path, sims["ok"])
    try:
        bid = filled_block(oms)
        ins = wait_status(oms, bid, {"accepted"})
        oms.loop.run_until(lambda: instructions(book, bid)[-1].report_id is not None, 10)
        ins = instructions(book, bid)[-1]
        block = oms.order(bid)
        with book.session() as s:
            allocs = {
                a.account_id: a.quantity
                for a in s.scalars(select(Allocation).where(Allocation.block_id == bid))
            }
        # What the OMS sent, as the broker received it (its journal of the J it validated)
        [seen] = journal(sims["ok"], ins.alloc_id)
        assert seen["status"] == "0" and seen["trans_type"] == "0" and seen["alloc_type"] == "2"
        assert seen["cl_ord_ids"] == [block.cl_ord_id]
        sent = {acc: Decimal(q) for acc, q in seen["allocs"]}  # type: ignore[union-attr]
        assert sum(sent.values()) == Decimal(str(seen["quantity"])) == block.cum_qty == 1500
        assert sent == {
            "ACC1": allocs[1],
            "ACC2": allocs[2],
            "ACC3": allocs[3],
        }  # AllocAccount = account code
        assert Decimal(str(seen["avg_px"])) == block.avg_px
        assert (ins.status, ins.trans_type, ins.quantity, ins.avg_px) == (
            "accepted",
            "new",
            1500,
            block.avg_px,
        )
        assert ins.report_id is not None and ins.sent_at is not None
        assert actions(book, ins.alloc_id) == [
            "oms.allocation.create", "oms.allocation.send", "oms.allocation.received",
            "oms.allocation.accept", "oms.allocation.report",
        ]  # fmt: skip
        rows = allocations(book, [bid])
        assert set(rows["alloc_status"]) == {"accepted"} and set(rows["alloc_id"]) == {ins.alloc_id}
        assert oms.manager.alerts == 0
    finally:
        oms.stop()


def test_rejected_allocation_shows_reason_and_is_resent_as_replace(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    sim = sims["unknown"]
    oms = start(book, tmp_path, sim)
    try:
        bid = filled_block(oms)
        rejected = wait_status(oms, bid, {"rejected"})
        assert rejected.reject_code == 0
        assert "unknown account" in (rejected.reject_text or "") and "ACC2" in (rejected.reject_text or "")
        [listed] = instruction_list(book, status="rejected")
        assert (listed["alloc_id"], listed["reject_code"]) == (rejected.alloc_id, 0)
        assert "ACC2" in listed["reason"]
        # The desk corrects ACC2's AllocAccount (the number the broker knows it by) and re-sends.
        new_id = oms.manager.resend_allocation(rejected.alloc_id, "trader1", {"ACC2": "C-778812"})
        accepted = wait_status(oms, bid, {"accepted"})
        assert accepted.alloc_id == new_id
        assert (accepted.trans_type, accepted.ref_alloc_id) == ("replace", rejected.alloc_id)
        [old] = [i for i in instructions(book, bid) if i.alloc_id == rejected.alloc_id]
        assert old.status == "replaced"
        [seen] = journal(sim, new_id)
        assert (seen["trans_type"], seen["ref_alloc_id"], seen["status"]) == ("1", rejected.alloc_id, "0")
        assert [a for a, _ in seen["allocs"]] == ["ACC1", "C-778812", "ACC3"]  # type: ignore[union-attr]
        assert sum(Decimal(q) for _, q in seen["allocs"]) == 1500  # type: ignore[union-attr]
        assert actions(book, rejected.alloc_id)[-1] == "oms.allocation.replace"
        assert actions(book, new_id)[0] == "oms.allocation.resend"
        with pytest.raises(Exception, match="only a rejected allocation"):
            oms.manager.resend_allocation(new_id, "trader1")
    finally:
        oms.stop()


def test_restart_between_j_and_p_loses_no_ack(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    """The J goes out and the OMS dies with the broker's P and AS still in memory: at the restart
    the gateway resumes after the last message applied, the broker sends them again, and they are
    applied once."""
    sim = sims["ok"].ready()
    config = fix_config(tmp_path, sim.port, sender="WR")
    first = Oms(book, tmp_path, sim.port, checker=PassAll(), booker=RecordingBooker(), config=config)
    try:
        bid = filled_block(first)  # the loop stops at the step that filled the block and sent its J
        [ins] = instructions(book, bid)
        assert ins.status == "sent"  # the broker's P is not applied yet
        deadline = time.monotonic() + 10
        while not journal(sim, ins.alloc_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # P (received, accepted) and AS reach this process's inbox, never applied
    finally:
        first.stop()
    assert instructions(book, bid)[-1].status == "sent"
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    gateway = FixGateway(config, tmp_path / "fix", inbox, book=book)
    manager = make_oms(book, gateway=gateway, clock=ManualClock(OPEN))
    loop = OmsLoop(manager, inbox, tick_every=0.1)
    try:
        gateway.start()
        assert loop.run_until(lambda: instructions(book, bid)[-1].report_id is not None, 30)
        loop.run_until(lambda: False, 1.0)  # anything else resent is applied (or ignored) too
        after = instructions(book, bid)[-1]
        assert (after.alloc_id, after.status) == (ins.alloc_id, "accepted")
        assert actions(book, ins.alloc_id).count("oms.allocation.accept") == 1
        assert len(journal(sim, ins.alloc_id)) == 1  # the broker got the J once
    finally:
        gateway.stop(force=True)


def test_unanswered_instruction_stays_sent_with_one_alert(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    clock = ManualClock(OPEN)
    oms = start(book, tmp_path, sims["silent"], clock=clock)
    try:
        bid = filled_block(oms)
        ins = wait_status(oms, bid, {"sent"})
        oms.drain(0.5)
        assert oms.manager.alerts == 0
        clock.advance(timedelta(seconds=61))  # past the 60 s the OMS waits for an ack
        oms.drain(0.5)
        clock.advance(timedelta(seconds=61))
        oms.drain(0.5)
        after = instructions(book, bid)[-1]
        assert (after.alloc_id, after.status) == (ins.alloc_id, "sent") and after.alerted_at is not None
        assert oms.manager.alerts == 1
        assert actions(book, ins.alloc_id)[-1] == "oms.allocation.unanswered"
        assert oms.order(bid).status == "filled"
    finally:
        oms.stop()


def test_lone_order_sends_no_instruction(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    from tests.connectors.fix.harness import draft

    oms = start(book, tmp_path, sims["ok"], sender="WR")
    try:
        [oid] = oms.create(draft("ACC1", qty=100))
        oms.manager.route([oid])
        oms.wait(oid)
        oms.drain(0.3)
        assert instructions(book) == []
        with book.session() as s:
            assert s.get(Order, oid) is not None
    finally:
        oms.stop()


def test_headless_oms_waits_for_the_last_acks(
    book: Database, tmp_path: Path, sims: dict[str, Sim], capsys
) -> None:  # type: ignore[no-untyped-def]
    """`oms --headless` builds the block, routes it, and before it stops applies the broker's
    answer to the block's J (allocations_waiting 0)."""
    import json

    from tests.connectors.fix.harness import draft
    from workstation.cli.main import main

    sim = sims["ok"].ready()
    make_oms(book, checker=PassAll()).create([draft(a, "AAPL", q) for a, q in (("ACC1", 100), ("ACC2", 200))])
    config = fix_config(tmp_path, sim.port, sender="WH")
    url = book.engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "oms", "--headless", "--fix-config", str(config), "--timeout", "60",
                 "--outside-hours", "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["all_final"] and summary["allocations_waiting"] == 0, summary
    [ins] = instructions(book)
    assert (ins.status, ins.quantity) == ("accepted", 300)
