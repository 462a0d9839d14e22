"""A released order changed afterwards: a loosened cancel/replace is re-checked and, if compliance
refuses it, held (not sent, previous working state, order event); a tightened one routes unchecked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.compliance.order_cases import OrderApprovalCases
from engine.oms.drafts import OrderDraft
from engine.oms.errors import ReplaceHeld
from engine.oms.messages import CancelOrder, ExecReport, ReplaceOrder
from engine.oms.recheck import RecheckVerdict
from engine.oms.service import OrderManager
from engine.oms.tables import Order, OrderEvent
from engine.ports import OrderIntent
from engine.store.database import Database
from tests.engine.oms.book import Gateway, PassAll, RecordingBooker, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class ApproveUpTo:
    """Compliance double: terms pass up to `max_qty` shares; beyond, they need approval again."""

    def __init__(self, max_qty: int) -> None:
        self.max_qty = Decimal(max_qty)
        self.calls: list[tuple[int, OrderIntent, OrderIntent]] = []

    def __call__(
        self, session: Session, order_id: int, before: OrderIntent, after: OrderIntent, username: str
    ) -> RecheckVerdict:
        self.calls.append((order_id, before, after))
        if after.quantity > self.max_qty:
            return RecheckVerdict(False, f"order {order_id} needs approval again: over {self.max_qty}")
        return RecheckVerdict(True)


def working(m: OrderManager, draft: OrderDraft) -> tuple[int, str]:
    [oid] = m.create([draft], "tr1")
    assert m.route([oid], outside_hours=True).sent == [oid]
    with m.database.session() as s:
        cl = s.get(Order, oid).cl_ord_id  # type: ignore[union-attr]
    m.apply(
        ExecReport(
            broker="SIM", exec_id=f"N{oid}", exec_type="0", ord_status="0", cl_ord_id=cl,
            last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0), leaves_qty=draft.quantity,
            avg_px=Decimal(0), transact_time=OPEN,
        )
    )  # fmt: skip
    return oid, cl


def state(m: OrderManager, oid: int) -> tuple[str, Decimal, Decimal | None, str]:
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o.status, o.quantity, o.limit_price, o.cl_ord_id


def events(m: OrderManager, oid: int) -> list[OrderEvent]:
    with m.database.session() as s:
        return list(s.scalars(select(OrderEvent).where(OrderEvent.order_id == oid).order_by(OrderEvent.id)))


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    make_book(database)
    yield database


def test_loosened_replace_is_held_and_tightened_one_routes(book: Database) -> None:
    gw, recheck = Gateway(), ApproveUpTo(150)
    m = make_oms(book, gateway=gw, checker=PassAll(), clock=ManualClock(OPEN), recheck=recheck)
    draft = OrderDraft("ACC1", "AAPL", "buy", Decimal(100), "limit", Decimal("180"), broker="SIM")
    oid, cl = working(m, draft)
    sent_before = len(gw.sent)

    # Quantity up beyond what compliance passes: held, nothing sent, order unchanged and working.
    with pytest.raises(ReplaceHeld, match="needs approval again: over 150"):
        m.replace(oid, quantity=Decimal(400), username="tr1")
    assert len(gw.sent) == sent_before
    assert state(m, oid) == ("new", Decimal(100), Decimal("180"), cl)
    held = events(m, oid)[-1]
    assert (held.kind, held.status_from, held.status_to, held.username) == (
        "replace_held",
        "new",
        "new",
        "tr1",
    )
    assert held.detail["quantity"] == "400" and "needs approval again" in held.detail["reason"]
    [(checked_id, before, after)] = recheck.calls
    assert checked_id == oid and (before.quantity, after.quantity) == (100, 400)
    assert after.limit_price == Decimal("180") and after.account == "ACC1" and after.symbol == "AAPL"

    # Tightened (fewer shares, lower buy limit): routes without a re-check.
    new_cl = m.replace(oid, quantity=Decimal(80), limit_price=Decimal("179.5"))
    assert len(recheck.calls) == 1
    msg = gw.sent[-1]
    assert isinstance(msg, ReplaceOrder) and msg.cl_ord_id == new_cl and msg.orig_cl_ord_id == cl
    assert (msg.quantity, msg.limit_price) == (80, Decimal("179.5"))
    assert state(m, oid)[0] == "pending_replace"


def test_loosened_replace_that_passes_the_recheck_routes(book: Database) -> None:
    gw, recheck = Gateway(), ApproveUpTo(150)
    m = make_oms(book, gateway=gw, checker=PassAll(), clock=ManualClock(OPEN), recheck=recheck)
    draft = OrderDraft("ACC1", "AAPL", "sell", Decimal(100), "limit", Decimal("180"), broker="SIM")
    oid, _ = working(m, draft)
    new_cl = m.replace(oid, quantity=Decimal(120), limit_price=Decimal("175"))  # looser both ways
    [(_, _, after)] = recheck.calls
    assert (after.quantity, after.limit_price) == (120, Decimal("175"))
    assert isinstance(gw.sent[-1], ReplaceOrder) and gw.sent[-1].cl_ord_id == new_cl


def test_without_a_rechecker_a_loosened_replace_is_held(book: Database) -> None:
    gw = Gateway()
    m = make_oms(book, gateway=gw, checker=PassAll(), clock=ManualClock(OPEN))
    draft = OrderDraft("ACC1", "AAPL", "buy", Decimal(100), "limit", Decimal("180"), broker="SIM")
    oid, cl = working(m, draft)
    with pytest.raises(ReplaceHeld, match="buy limit raised from 180 to 181"):
        m.replace(oid, limit_price=Decimal("181"))
    assert state(m, oid) == ("new", Decimal(100), Decimal("180"), cl)
    assert events(m, oid)[-1].kind == "replace_held"
    m.replace(oid, quantity=Decimal(90))
    assert isinstance(gw.sent[-1], ReplaceOrder) and state(m, oid)[0] == "pending_replace"


def test_real_compliance_holds_a_loosened_replace_for_approval(database: Database) -> None:
    """Wired as in workstation.cli.oms: compliance's checker and its re-check on the mini book
    (U1 holds 100 AAA; no shorts)."""
    from engine.compliance import approvals
    from engine.compliance.checker import ComplianceChecker
    from engine.compliance.replace_check import ComplianceReplaceCheck
    from tests.engine.compliance.minibook import build_minibook

    build_minibook(database)
    checker = ComplianceChecker()
    gw = Gateway()
    m = make_oms(
        database,
        gateway=gw,
        checker=checker,
        clock=ManualClock(OPEN),
        recheck=ComplianceReplaceCheck(checker),
        cases=OrderApprovalCases(),
    )
    # Released straight from the pre-trade check (no approval case): re-checked with the new terms.
    sell = OrderDraft("U1", "AAA", "sell", Decimal(50), "limit", Decimal("99"), broker="SIM")
    oid, cl = working(m, sell)
    with pytest.raises(ReplaceHeld, match="short 50"):
        m.replace(oid, quantity=Decimal(150), username="tr1")
    assert state(m, oid) == ("new", Decimal(50), Decimal("99"), cl)
    assert events(m, oid)[-1].kind == "replace_held"
    m.replace(oid, quantity=Decimal(40), limit_price=Decimal("99.5"), username="tr1")  # tighter
    assert isinstance(gw.sent[-1], ReplaceOrder) and gw.sent[-1].quantity == 40

    # Released through an approval case: check_routable moves the case back to pending approval.
    oid2, cl2 = working(m, OrderDraft("U1", "AAA", "sell", Decimal(10), "limit", Decimal("99"), broker="SIM"))
    with database.transaction() as s:
        approvals.release(s, "tr1", approvals.submit(s, "tr1", "order", oid2).id)
    with pytest.raises(ReplaceHeld, match="needs approval again"):
        m.replace(oid2, quantity=Decimal(150), username="tr1")
    with database.session() as s:
        case = approvals.find_case(s, "order", oid2)
        assert case is not None and case.state == "pending_approval"
    assert state(m, oid2) == ("new", Decimal(10), Decimal("99"), cl2)
    m.replace(oid2, quantity=Decimal(5), username="tr1")  # tighter: routes without approval
    assert isinstance(gw.sent[-1], ReplaceOrder) and gw.sent[-1].quantity == 5


def test_kill_switch_holds_even_a_tightened_replace_but_not_a_cancel(book: Database) -> None:
    """A replace is routing: while a kill switch covers the account nothing is sent, however tight."""
    from engine.compliance.killswitch import engage, release
    from engine.store.people import User

    with book.transaction() as s:
        s.add(User(username="kc", display_name="Kill-switch holder", role="compliance"))
    gw, recheck = Gateway(), ApproveUpTo(1_000)
    m = make_oms(book, gateway=gw, checker=PassAll(), clock=ManualClock(OPEN), recheck=recheck)
    oid, cl = working(
        m, OrderDraft("ACC1", "AAPL", "buy", Decimal(100), "limit", Decimal("180"), broker="SIM")
    )
    with book.transaction() as s:
        switch = engage(s, "kc", "account", "ACC1", "fat-finger investigation")
    sent_before = len(gw.sent)
    with pytest.raises(ReplaceHeld, match=r"routing stopped for account ACC1 \(kill switch\)"):
        m.replace(oid, quantity=Decimal(80), limit_price=Decimal("179.5"), username="tr1")
    assert len(gw.sent) == sent_before and recheck.calls == []
    assert state(m, oid) == ("new", Decimal(100), Decimal("180"), cl)
    assert events(m, oid)[-1].kind == "replace_held"
    # Released: the same tightened replace routes.
    with book.transaction() as s:
        release(s, "kc", switch.id, "cleared")
    new_cl = m.replace(oid, quantity=Decimal(80), limit_price=Decimal("179.5"), username="tr1")
    assert isinstance(gw.sent[-1], ReplaceOrder) and gw.sent[-1].cl_ord_id == new_cl

    # A cancel reduces risk: it goes to the broker even under a switch.
    other, _ = working(
        m, OrderDraft("ACC1", "AAPL", "buy", Decimal(50), "limit", Decimal("181"), broker="SIM")
    )
    with book.transaction() as s:
        engage(s, "kc", "firm", None, "market-wide halt")
    m.cancel(other, username="tr1")
    assert isinstance(gw.sent[-1], CancelOrder)
    assert state(m, other)[0] == "pending_cancel"


def test_approved_replace_goes_out_on_release_over_real_fix(tmp_path: Path) -> None:
    """Real OMS, real compliance and the SIMULATED broker over real FIX (mini book: U1 holds 100
    AAA). A held replace is released by the trader's one-key release once compliance has approved
    it, and reaches the broker with the approved terms; a rejected one never reaches it."""
    from engine.compliance import approvals
    from engine.compliance.checker import ComplianceChecker
    from engine.compliance.replace_check import ComplianceReplaceCheck
    from tests.conftest import migrated
    from tests.connectors.fix.harness import Oms, Sim
    from tests.engine.compliance.minibook import build_minibook

    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    build_minibook(db)
    sim = Sim(tmp_path, "--ignore-market-hours", "--fill-parts", "0").ready()
    oms = None
    try:
        checker = ComplianceChecker()
        oms = Oms(
            db, tmp_path, sim.port, checker=checker, booker=RecordingBooker(),
            recheck=ComplianceReplaceCheck(checker), cases=OrderApprovalCases(),
        )  # fmt: skip
        m = oms.manager

        def working(qty: int) -> tuple[int, str]:
            [oid] = m.create(
                [OrderDraft("U1", "AAA", "sell", Decimal(qty), "limit", Decimal("99"), broker="SIM")], "tr1"
            )
            assert m.route([oid], outside_hours=True).sent == [oid]
            return oid, oms.wait(oid, {"new"}).cl_ord_id  # type: ignore[union-attr]

        def case_of(oid: int) -> int:
            with db.session() as s:
                case = approvals.find_case(s, "order", oid)
                assert case is not None
                return case.id

        def at_broker(cl_ord_id: str) -> list[str]:
            return [e["event"] for e in sim.events() if cl_ord_id in (e.get("cl_ord_id"), e.get("orig"))]

        approved, first = working(50)
        rejected, other = working(20)
        for oid, qty in ((approved, 150), (rejected, 120)):  # both would leave U1 short: held
            with pytest.raises(ReplaceHeld, match="approval case"):
                m.replace(oid, quantity=Decimal(qty), username="tr1")
        with pytest.raises(ReplaceHeld, match="waits for approval"):
            m.release_now([approved], "tr1")
        oms.drain(0.5)
        assert at_broker(first) == ["new"] and at_broker(other) == ["new"]  # nothing went out

        with db.transaction() as s:  # a hard block: two distinct compliance approvers
            approvals.decide(s, "co1", case_of(approved), "approve", "client_instruction", "mandate")
        with db.transaction() as s:
            approvals.decide(s, "co2", case_of(approved), "approve", "client_instruction")
        with db.transaction() as s:
            approvals.decide(s, "co1", case_of(rejected), "reject", "policy_breach", "no shorts")

        result = m.release_now([approved, rejected], "tr1")
        assert result.sent == [approved] and "rejected by compliance" in result.refused[rejected]
        assert oms.loop.run_until(lambda: oms.order(approved).quantity == 150, 15)  # type: ignore[union-attr]
        o = oms.order(approved)
        assert (o.status, o.quantity, o.limit_price, o.orig_cl_ord_id) == ("new", 150, Decimal("99"), first)
        assert next(e for e in sim.events() if e["event"] == "replaced")["orig"] == first
        oms.drain(0.5)
        r = oms.order(rejected)
        assert (r.status, r.quantity, r.cl_ord_id) == ("new", 20, other)
        assert at_broker(other) == ["new"]
        with db.session() as s:
            assert approvals.find_case(s, "order", approved).state == "released"  # type: ignore[union-attr]
            assert approvals.find_case(s, "order", rejected).state == "rejected"  # type: ignore[union-attr]
    finally:
        if oms is not None:
            oms.stop()
        sim.stop()
        db.dispose()
