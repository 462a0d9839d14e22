"""Real FIX 4.4 sessions over 127.0.0.1: the OMS (quickfix initiator, in this process) against the
SIMULATED broker in another process, one scenario per fault."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.oms.tables import Allocation, Execution, OrderEvent
from engine.store.database import Database
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, Sim, all_orders, draft, simulators
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Database]:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    yield db
    db.dispose()


H = "--ignore-market-hours"
SCENARIOS: dict[str, tuple[str, ...]] = {
    "full": (H, "--fill-parts", "1"),
    "partial": (H, "--fill-parts", "4"),
    "cancel": (H, "--fill-parts", "0"),
    "reject": (H, "--reject-rate", "1"),
    "cancel_reject": (H, "--fill-parts", "0", "--reject-cancels"),
    "race": (H, "--fill-parts", "0", "--race-cancel"),
    "dup": (H, "--fill-parts", "3", "--duplicate-rate", "1"),
    "unsolicited": (H, "--fill-parts", "3", "--unsolicited-cancel-rate", "1"),
    "drop": (H, "--fill-parts", "5", "--drop-after", "3"),
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sim]]:
    """Every scenario's simulator, started at once (each takes seconds to import)."""
    tmp = tmp_path_factory.mktemp("sims")
    yield from simulators(tmp, SCENARIOS, clients="WS,WS2")


def run(
    book: Database, tmp: Path, sim: Sim, clock: ManualClock | None = None, sender: str = "WS"
) -> Iterator[tuple[Oms, Sim, RecordingBooker]]:
    """An OMS on `sim`; two tests may share a simulator when they log on as different senders."""
    sim.ready()
    booker = RecordingBooker()
    oms = None
    try:
        oms = Oms(book, tmp, sim.port, checker=PassAll(), booker=booker, clock=clock, sender=sender)
        yield oms, sim, booker
    finally:
        if oms is not None:
            oms.stop()


def fills(db: Database, order_id: int) -> list[Execution]:
    with db.session() as s:
        return list(
            s.scalars(select(Execution).where(Execution.order_id == order_id, Execution.exec_type == "F"))
        )


def test_full_fill_is_allocated_and_booked(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, sim, booker in run(book, tmp_path, sims["full"]):
        [oid] = oms.create(draft(qty=300))
        assert oms.manager.route([oid]).sent == [oid]
        o = oms.wait(oid)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("filled", 300, 0)
        [fill] = [e for e in sim.events() if e["event"] == "fill" and e["cl_ord_id"] == o.cl_ord_id]
        assert o.avg_px == Decimal(fill["px"])
        [booked] = booker.fills.values()
        assert (booked.account, booked.quantity, booked.price) == ("ACC1", 300, Decimal(fill["px"]))
        assert booked.settle_date == booked.trade_date + timedelta(days=1)  # a Monday: T+1 is Tuesday


def test_partial_fills_add_up_and_average(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, sim, _ in run(book, tmp_path, sims["partial"]):
        [oid] = oms.create(draft(qty=1000))
        oms.manager.route([oid])
        o = oms.wait(oid)
        sim_fills = [(Decimal(e["qty"]), Decimal(e["px"])) for e in sim.events() if e["event"] == "fill"]
        assert len(sim_fills) == 4 and len(fills(book, oid)) == 4
        notional = sum(q * p for q, p in sim_fills)
        assert o.cum_qty == 1000 and o.status == "filled"
        assert o.avg_px == (notional / 1000).quantize(Decimal("0.000001"))
        with book.session() as s:
            kinds = [e.status_to for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == oid))]
        assert kinds.count("partially_filled") == 3  # three partial fills, then filled


def test_cancel(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, _, _ in run(book, tmp_path, sims["cancel"]):
        [oid] = oms.create(draft())
        oms.manager.route([oid])
        oms.wait(oid, {"new"})
        oms.manager.cancel(oid)
        assert oms.order(oid).status == "pending_cancel"
        o = oms.wait(oid)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("canceled", 0, 0)


def test_replace_chains_cl_ord_ids(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, sim, _ in run(book, tmp_path, sims["cancel"], sender="WS2"):
        [oid] = oms.create(draft(qty=300, order_type="limit", limit_price=Decimal("101")))
        oms.manager.route([oid])
        first = oms.wait(oid, {"new"}).cl_ord_id
        new_id = oms.manager.replace(oid, quantity=Decimal(200), limit_price=Decimal("99.5"))
        oms.wait(oid, {"new"}, timeout=10)
        o = oms.order(oid)
        assert (o.cl_ord_id, o.orig_cl_ord_id, o.quantity, o.limit_price, o.leaves_qty) == (
            new_id,
            first,
            200,
            Decimal("99.5"),
            200,
        )
        assert next(e for e in sim.events() if e["event"] == "replaced")["orig"] == first


def test_reject_with_reason(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, _, _ in run(book, tmp_path, sims["reject"]):
        [oid] = oms.create(draft())
        oms.manager.route([oid])
        o = oms.wait(oid)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("rejected", 0, 0)
        with book.session() as s:
            ev = s.scalars(
                select(OrderEvent).where(OrderEvent.order_id == oid).order_by(OrderEvent.id.desc())
            ).first()
        assert ev is not None and "fault injection" in ev.detail["text"]


def test_cancel_reject_returns_to_previous_status(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    for oms, _, _ in run(book, tmp_path, sims["cancel_reject"]):
        [oid] = oms.create(draft())
        oms.manager.route([oid])
        oms.wait(oid, {"new"})
        oms.manager.cancel(oid)
        oms.wait(oid, {"new"}, timeout=10)
        o = oms.order(oid)
        assert (o.status, o.prev_status, o.leaves_qty) == ("new", None, 300)


def events(db: Database, oid: int) -> list[OrderEvent]:
    with db.session() as s:
        return list(s.scalars(select(OrderEvent).where(OrderEvent.order_id == oid).order_by(OrderEvent.id)))


def test_fill_that_races_a_cancel(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, _, booker in run(book, tmp_path, sims["race"]):
        [oid] = oms.create(draft(qty=300))
        oms.manager.route([oid])
        oms.wait(oid, {"new"})
        oms.manager.cancel(oid)
        o = oms.wait(oid)
        # The broker filled 150 while the cancel was pending, then cancelled the other 150.
        assert (o.status, o.cum_qty, o.leaves_qty) == ("canceled", 150, 0)
        seq = [
            e.status_to for e in events(book, oid) if e.kind.startswith("exec:") or e.kind == "cancel_request"
        ]
        assert seq[-3:] == ["pending_cancel", "pending_cancel", "canceled"]
        assert [f.quantity for f in booker.fills.values()] == [150]


def test_duplicate_execution_reports_are_ignored(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    for oms, sim, booker in run(book, tmp_path, sims["dup"]):
        [oid] = oms.create(draft(qty=300))
        oms.manager.route([oid])
        o = oms.wait(oid)
        oms.drain(0.3)
        dups = [e for e in sim.events() if e["event"] == "duplicate_sent"]
        assert len(dups) >= 4  # the ack and three fills were each sent twice
        assert oms.manager.duplicates == len(dups)
        assert (o.status, o.cum_qty) == ("filled", 300)
        assert len(fills(book, oid)) == 3 and oms.manager.alerts == 0
        assert sum(f.quantity for f in booker.fills.values()) == 300


def test_unsolicited_cancel(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    for oms, _, _ in run(book, tmp_path, sims["unsolicited"]):
        [oid] = oms.create(draft(qty=300))
        oms.manager.route([oid])
        o = oms.wait(oid)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("canceled", 100, 0)


def test_order_for_closed_market_is_held_then_released_at_the_open(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 13, 0, tzinfo=UTC))  # New York opens at 14:30 UTC
    for oms, sim, _ in run(book, tmp_path, sims["full"], clock=clock, sender="WS2"):
        [oid] = oms.create(draft())
        assert oms.manager.route([oid]).held == [oid]
        o = oms.order(oid)
        assert o.status == "held" and o.release_at == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
        oms.drain(0.5)
        assert oms.order(oid).status == "held"
        assert not [e for e in sim.events() if e["cl_ord_id"] == o.cl_ord_id]
        clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=UTC))
        o = oms.wait(oid)
        assert o.status == "filled"
        assert [e["event"] for e in sim.events() if e["cl_ord_id"] == o.cl_ord_id] == ["new", "fill"]


def test_block_allocation_sums_exactly_to_the_fills(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    for oms, _, booker in run(book, tmp_path, sims["race"], sender="WS2"):
        ids = oms.create(
            draft("ACC1", "7203.T", 300), draft("ACC2", "7203.T", 500), draft("ACC3", "7203.T", 700)
        )
        [bid] = oms.manager.build_blocks(ids)
        assert oms.manager.route([bid], outside_hours=True).sent == [bid]  # Tokyo is closed at 15:00 UTC
        oms.wait(bid, {"new"})
        oms.manager.cancel(bid)  # the broker fills half (750) first, then cancels the rest
        block = oms.wait(bid)
        assert (block.status, block.cum_qty) == ("canceled", 750)
        with book.session() as s:
            allocs = list(s.scalars(select(Allocation).where(Allocation.block_id == bid)))
        assert sum(a.quantity for a in allocs) == 750
        assert {a.avg_px for a in allocs} == {block.avg_px}
        # pro rata shares are 150/250/350: whole lots of 100 first, then the remainder by the rule;
        # every account ends within one lot of its exact share
        for a in allocs:
            assert abs(a.quantity - Decimal(750) * {1: 300, 2: 500, 3: 700}[a.account_id] / 1500) < 100
        children = [o for o in all_orders(book) if o.parent_id == bid]
        assert sum(c.cum_qty for c in children) == 750 and all(
            c.status in ("canceled", "filled") for c in children
        )
        assert sum(f.quantity for f in booker.fills.values()) == 750


def test_dropped_connection_mid_fill_recovers_without_double_counting(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    for oms, sim, booker in run(book, tmp_path, sims["drop"]):
        [oid] = oms.create(draft(qty=500))
        oms.manager.route([oid])
        o = oms.wait(oid, timeout=30)
        oms.drain(0.5)
        assert any(e["event"] == "drop_connection" for e in sim.events())
        assert (o.status, o.cum_qty, o.leaves_qty) == ("filled", 500, 0)
        assert len(fills(book, oid)) == 5
        assert sum(f.quantity for f in booker.fills.values()) == 500
        assert oms.manager.alerts == 0
