"""No lost updates: two workstation processes act on the same item at once, many times, on
PostgreSQL. Exactly one wins every time; the loser gets a clear message naming the item and
its current state, and nothing of the loser's is left in the store or sent to a broker.

Half the rounds force a true overlap (both processes have read the item before either writes);
the other half start together and let the scheduler decide."""

from __future__ import annotations

import multiprocessing as mp
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase, ApprovalDecision
from engine.oms.drafts import OrderDraft
from engine.oms.messages import ExecReport
from engine.oms.tables import ClientOrderId, Order
from engine.ports import OrderIntent
from engine.shared.feed import changes_after
from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook
from tests.engine.oms.book import PassAll, make_book, make_oms
from tests.shared import workers

ROUNDS = 24
OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
pg_only = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _run(target, args_a, args_b, n):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, out)) for a in (args_a, args_b)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in range(2 * n)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return results


@pg_only
def test_two_reviewers_approving_the_same_case_exactly_one_wins(database: Database) -> None:
    build_minibook(database)
    cases = []
    with database.transaction() as s:
        for i in range(ROUNDS):
            intents = [OrderIntent("U1", "AAA", "buy", Decimal(10))]
            cases.append(approvals.submit(s, "tr1", "order", f"R{i}", intents, created_by="pm1").id)
    forced = [i % 2 == 0 for i in range(ROUNDS)]
    url = _url(database)
    results = _run(workers.approver, (url, "co2", cases, forced), (url, "co3", cases, forced), ROUNDS)
    by_case: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cid, user, result in results:
        by_case[cid].append((user, result))
    conflicts = 0
    for i, cid in enumerate(cases):
        outcomes = by_case[cid]
        winners = [u for u, r in outcomes if r == "won"]
        losers = [r for u, r in outcomes if r != "won"]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        loser = losers[0]
        conflicts += loser.startswith("conflict")
        if forced[i]:  # both read it pending: the loser's write is refused by the version check
            assert loser.startswith("conflict: approval case order R"), loser
            assert f"order R{i} was changed at another desk" in loser and "approved" in loser
        with database.session() as s:
            case = s.get(ApprovalCase, cid)
            assert case is not None and case.state == "approved"
            decisions = s.scalars(
                select(ApprovalDecision.username).where(ApprovalDecision.approval_id == cid)
            ).all()
            assert decisions == winners  # the loser's decision row was rolled back with it
    assert conflicts >= ROUNDS // 2
    with database.engine.connect() as conn:
        approved = [c for c in changes_after(conn, 0) if c.type == "approval" and c.state == "approved"]
    assert sorted(c.ids["approval"] for c in approved) == sorted(cases)


def _working_orders(database: Database, n: int) -> list[int]:
    """n orders at the broker (status new), through the real OMS with a recording gateway."""
    make_book(database)

    class Gw:
        def send(self, m) -> None:  # type: ignore[no-untyped-def]
            pass

        def is_logged_on(self, broker: str) -> bool:
            return True

    m = make_oms(database, gateway=Gw(), checker=PassAll(), clock=ManualClock(OPEN))
    drafts = [
        OrderDraft(account="ACC1", symbol="AAPL", side="buy", quantity=Decimal(300 + i), broker="SIM",
                   order_type="limit", limit_price=Decimal("190"))
        for i in range(n)
    ]  # fmt: skip
    ids = m.create(drafts)
    assert m.route(ids).sent == ids
    with database.session() as s:
        cls = {o.id: o.cl_ord_id for o in s.scalars(select(Order).where(Order.id.in_(ids)))}
    for oid in ids:
        m.apply(
            ExecReport(
                broker="SIM", exec_id=f"E{oid}", exec_type="0", ord_status="0", cl_ord_id=cls[oid],
                last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0),
                leaves_qty=Decimal(300 + ids.index(oid)), avg_px=Decimal(0), transact_time=OPEN,
            )
        )  # fmt: skip
    return ids


@pg_only
def test_cancel_and_replace_at_once_exactly_one_wins_and_one_message_is_sent(database: Database) -> None:
    orders = _working_orders(database, ROUNDS)
    with database.session() as s:
        assert set(s.scalars(select(Order.status).where(Order.id.in_(orders)))) == {"new"}
    forced = [i % 2 == 0 for i in range(ROUNDS)]
    url = _url(database)
    results = _run(workers.trader, (url, "cancel", orders, forced), (url, "replace", orders, forced), ROUNDS)
    by_order: dict[int, list[tuple[str, str, list[str]]]] = defaultdict(list)
    for oid, action, result, sent in results:
        by_order[oid].append((action, result, sent))
    conflicts = 0
    for i, oid in enumerate(orders):
        outcomes = by_order[oid]
        won = [(a, sent) for a, r, sent in outcomes if r == "won"]
        lost = [(a, r, sent) for a, r, sent in outcomes if r != "won"]
        assert len(won) == 1 and len(lost) == 1, outcomes
        action, sent = won[0]
        assert len(sent) == 1 and lost[0][2] == []  # one message to the broker, none from the loser
        conflicts += lost[0][1].startswith("conflict")
        if forced[i]:
            assert lost[0][1].startswith("conflict: order "), lost[0]
            assert ("pending_cancel" if action == "cancel" else "pending_replace") in lost[0][1]
        with database.session() as s:
            o = s.get(Order, oid)
            assert o is not None
            assert o.status == ("pending_cancel" if action == "cancel" else "pending_replace")
            ids = s.scalars(select(ClientOrderId.cl_ord_id).where(ClientOrderId.order_id == oid,
                                                                  ClientOrderId.purpose != "new")).all()  # fmt: skip
            assert ids == sent
    assert conflicts >= ROUNDS // 2
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.id.in_(orders))) == ROUNDS
