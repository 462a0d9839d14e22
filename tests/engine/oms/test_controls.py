"""Controls fail closed, orders move only through the state machine, flagged orders get a case."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.clock import ManualClock, SystemClock
from engine.compliance import approvals
from engine.compliance.checker import ComplianceChecker
from engine.compliance.order_cases import OrderApprovalCases
from engine.compose import build_order_manager
from engine.errors import InvalidTransition, PermissionDenied
from engine.events import EventBus
from engine.oms.drafts import OrderDraft
from engine.oms.errors import ControlFailed
from engine.oms.journal import ORDER_MACHINE
from engine.oms.service import OrderManager
from engine.oms.tables import Order, OrderEvent
from engine.ports import CheckOutcome, OrderIntent
from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook
from tests.engine.oms.book import (
    Cases,
    Gateway,
    HoldLoosened,
    PassAll,
    RecordingBooker,
    allow_all,
    make_book,
    make_oms,
)

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]


class BrokenSwitch:
    def allowed(self, session: Session, account_codes: set[str]) -> set[str]:
        raise RuntimeError("kill switch table unreadable")

    def stopped_traders(self, session: Session, usernames: set[str]) -> dict[str, str]:
        raise RuntimeError("kill switch table unreadable")


class BrokenChecker:
    def check(self, session: Session, orders: list[OrderIntent], username: str) -> list[CheckOutcome]:
        raise RuntimeError("rules engine down")


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    make_book(database)
    yield database


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Order)) or 0),
            int(s.scalar(select(func.count()).select_from(OrderEvent)) or 0),
        )


def test_a_kill_switch_that_cannot_answer_refuses_the_route(book: Database) -> None:
    gw = Gateway()
    [oid] = make_oms(book, gateway=gw, clock=ManualClock(OPEN)).create(
        [OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="SIM")]
    )
    broken = make_oms(book, gateway=gw, clock=ManualClock(OPEN), kill_switch=BrokenSwitch())
    before = counts(book)
    with pytest.raises(ControlFailed, match=r"kill switch failed .*unreadable.*refused"):
        broken.route(outside_hours=True)
    with pytest.raises(ControlFailed, match="kill switch"):
        broken.build_blocks()
    assert gw.sent == [] and counts(book) == before
    with book.session() as s:
        assert s.get(Order, oid).status == "released"  # type: ignore[union-attr]


def test_a_checker_that_raises_creates_nothing(book: Database) -> None:
    m = make_oms(book, checker=BrokenChecker())
    with pytest.raises(ControlFailed, match=r"compliance check failed .*rules engine down"):
        m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="SIM")])
    assert counts(book) == (0, 0)


def test_an_authorizer_that_raises_refuses_the_command(book: Database) -> None:
    def broken(session: Session, user: str, permission: str) -> None:
        raise ConnectionError("directory unreachable")

    with pytest.raises(ControlFailed, match="permission check failed"):
        make_oms(book, authorize=broken).create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10))])
    assert counts(book) == (0, 0)


def test_every_control_is_a_required_argument(database: Database) -> None:
    controls = {
        "checker": PassAll(), "recheck": HoldLoosened(), "booker": RecordingBooker(), "authorize": allow_all,
        "kill_switch": BrokenSwitch(), "cases": Cases(), "clock": SystemClock(), "bus": EventBus(),
    }  # fmt: skip
    for name in ("checker", "recheck", "booker", "authorize", "kill_switch", "cases"):
        rest = {k: v for k, v in controls.items() if k != name}
        with pytest.raises(TypeError, match=name):
            OrderManager(database, **rest)  # type: ignore[arg-type]


def test_an_illegal_edge_changes_nothing(book: Database) -> None:
    m = make_oms(book, clock=ManualClock(OPEN))
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="SIM")])
    before = counts(book)
    with pytest.raises(InvalidTransition):
        m.approve(oid, "co1")  # released, not waiting for approval
    assert counts(book) == before
    with book.transaction() as s:
        o = s.get(Order, oid)
        assert o is not None
        with pytest.raises(InvalidTransition):
            ORDER_MACHINE.fire(s, o, "exec:full_fill", actor="oms")  # never sent: no fill edge
        assert o.status == "released" and not [x for x in s.new if isinstance(x, OrderEvent)]
    assert counts(book) == before


def _status_writes(path: Path) -> list[str]:
    """Assignments of `.status`, `status=` in Core `.values(...)` and "status" keys of dicts."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AugAssign | ast.AnnAssign)
            else []
        )
        out += [
            f"{path}:{node.lineno}" for t in targets if isinstance(t, ast.Attribute) and t.attr == "status"
        ]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            out += [f"{path}:{node.lineno}" for k in node.keywords if k.arg == "status"]
    return out


def test_no_engine_module_but_the_state_engine_writes_an_order_status() -> None:
    """Order statuses are written by engine.state only (ORM) and by engine.oms.journal.move_in_bulk,
    which checks each row's edge with ORDER_MACHINE.next (Core). Proposals, cases and breaks are
    on the state engine too (tests/engine/state/test_only_writer.py), so no module is exempt."""
    found = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("engine/state/"):
            continue
        found += _status_writes(path)
    assert found == []
    bulk = (ROOT / "engine/oms/journal.py").read_text(encoding="utf-8")
    assert "ORDER_MACHINE.next(r.status, event" in bulk  # the Core path checks every edge


def test_every_order_status_set_comes_from_the_state_machine(
    book: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from sqlalchemy import event
    from sqlalchemy.orm.attributes import NEVER_SET, NO_VALUE

    callers: list[str] = []

    def on_set(target: Order, value: str, old: object, initiator: object) -> None:
        if old in (NO_VALUE, NEVER_SET):  # the constructor's first value
            return
        frame = sys._getframe(1)
        while frame.f_back is not None and "sqlalchemy" in frame.f_code.co_filename:
            frame = frame.f_back
        callers.append(frame.f_code.co_filename)

    event.listen(Order.status, "set", on_set)
    try:
        gw = Gateway()
        m = make_oms(book, gateway=gw, clock=ManualClock(OPEN), checker=PassAll(flag=["ACC3"]))
        ids = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="SIM"),
                        OrderDraft("ACC2", "AAPL", "buy", Decimal(20), broker="SIM"),
                        OrderDraft("ACC3", "AAPL", "buy", Decimal(30), broker="SIM")])  # fmt: skip
        m.approve(ids[2], "co1")
        m.route(ids[:1], outside_hours=True)
        m.cancel(ids[1])
    finally:
        event.remove(Order.status, "set", on_set)
    assert callers and {Path(c).as_posix().split("/engine/")[-1] for c in callers} == {"state/machine.py"}


@pytest.fixture
def minibook(database: Database) -> Iterator[Database]:
    build_minibook(database)
    yield database


def test_a_flagged_order_opens_an_approval_case_that_releases_it(minibook: Database) -> None:
    m = build_order_manager(minibook, clock=ManualClock(OPEN))
    [oid] = m.create([OrderDraft("U1", "AAB", "buy", Decimal(30), broker="SIM")], "tr1")
    with minibook.session() as s:
        assert s.get(Order, oid).status == "pending_approval"  # type: ignore[union-attr]
        [item] = approvals.queue(s)
    assert (item["entity"], item["entity_id"], item["outcome"], item["created_by"]) == (
        "order",
        str(oid),
        "flag",
        "tr1",
    )
    with pytest.raises(PermissionDenied, match=r"lacks permission 'approvals\.decide'"):
        m.approve(oid, "tr1")  # a trader never approves (and nobody their own order)
    m.approve(oid, "co1", "risk_accepted", "within desk limits")
    with minibook.session() as s:
        assert s.get(Order, oid).status == "released"  # type: ignore[union-attr]
        assert approvals.find_case(s, "order", oid).state == approvals.APPROVED  # type: ignore[union-attr]


def test_an_order_whose_case_is_approved_elsewhere_is_released_by_the_oms(minibook: Database) -> None:
    checker = ComplianceChecker()
    m = make_oms(
        minibook, checker=checker, cases=OrderApprovalCases(), authorize=require, clock=ManualClock(OPEN)
    )
    [oid] = m.create([OrderDraft("U1", "AAB", "buy", Decimal(30), broker="SIM")], "tr1")
    with minibook.transaction() as s:
        case = approvals.find_case(s, "order", oid)
        assert case is not None
        approvals.decide(s, "co1", case.id, "approve", "risk_accepted", "ok")  # `compliance decide`
    m.release_due()
    with minibook.session() as s:
        assert s.get(Order, oid).status in ("held", "pending_new")  # type: ignore[union-attr]


def test_the_headless_oms_counts_orders_waiting_for_approval_as_open(book: Database) -> None:
    from workstation.cli.oms import open_count

    m = make_oms(book, checker=PassAll(flag=["ACC3"]))
    m.create([OrderDraft("ACC3", "AAPL", "buy", Decimal(10), broker="SIM")])
    assert open_count(book) == 1


def test_an_approved_order_can_be_replaced_through_compliance_again(minibook: Database) -> None:
    from engine.oms.errors import ReplaceHeld
    from engine.oms.messages import ExecReport

    gw = Gateway()
    m = build_order_manager(minibook, clock=ManualClock(OPEN), gateway=gw)
    [oid] = m.create(
        [OrderDraft("U1", "AAB", "buy", Decimal(30), "limit", Decimal("100"), broker="SIM")], "tr1"
    )
    m.approve(oid, "co1")
    assert m.route([oid], outside_hours=True).sent == [oid]
    with minibook.session() as s:
        cl = s.get(Order, oid).cl_ord_id  # type: ignore[union-attr]
    m.apply(ExecReport(broker="SIM", exec_id="E1", exec_type="0", ord_status="0", cl_ord_id=cl,
                       last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0), leaves_qty=Decimal(30),
                       avg_px=Decimal(0), transact_time=OPEN))  # fmt: skip
    with pytest.raises(ReplaceHeld, match="needs approval again"):
        m.replace(oid, quantity=Decimal(40), username="tr1")  # looser: back to the reviewers
    with minibook.session() as s:
        case = approvals.find_case(s, "order", oid)
        assert case is not None and case.state == approvals.PENDING
        assert s.get(Order, oid).status == "new"  # type: ignore[union-attr]
    assert m.replace(oid, quantity=Decimal(20), username="tr1")  # tighter: sent without a re-check


def test_a_recheck_that_raises_refuses_the_replace(book: Database) -> None:
    from engine.oms.messages import ExecReport

    def broken(*args: object) -> object:
        raise TimeoutError("compliance service timed out")

    gw = Gateway()
    m = make_oms(book, gateway=gw, clock=ManualClock(OPEN), recheck=broken)
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), "limit", Decimal("180"), broker="SIM")])
    m.route([oid], outside_hours=True)
    with book.session() as s:
        cl = s.get(Order, oid).cl_ord_id  # type: ignore[union-attr]
    m.apply(ExecReport(broker="SIM", exec_id="E1", exec_type="0", ord_status="0", cl_ord_id=cl,
                       last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0), leaves_qty=Decimal(10),
                       avg_px=Decimal(0), transact_time=OPEN))  # fmt: skip
    sent, before = len(gw.sent), counts(book)
    with pytest.raises(ControlFailed, match="re-check failed"):
        m.replace(oid, quantity=Decimal(20))
    assert len(gw.sent) == sent and counts(book) == before
    with book.session() as s:
        assert (s.get(Order, oid).status, s.get(Order, oid).quantity) == ("new", 10)  # type: ignore[union-attr]


def test_the_machine_has_every_edge_of_the_order_table_and_nothing_that_moves_otherwise() -> None:
    from engine.oms.transitions import BROKER, PREVIOUS, TABLE, event_of

    for (status, incoming), target in TABLE.items():
        assert ORDER_MACHINE.allows(status, event_of(incoming))
        if target not in (BROKER, PREVIOUS):
            assert ORDER_MACHINE.next(status, event_of(incoming)) == target
    moves = {(s, e) for (s, e), t in ORDER_MACHINE.table.items() if isinstance(t, str) and t != s} - {
        (str(s), event_of(i)) for (s, i) in TABLE
    }
    assert moves == {("pending_approval", "compliance_block")}  # the OMS's only extra plain move
    assert ORDER_MACHINE.next("pending_approval", "created", None, {"compliance": "warn"}) == "released"
    assert (
        ORDER_MACHINE.next("pending_approval", "created", None, {"compliance": "flag"}) == "pending_approval"
    )
    with pytest.raises(InvalidTransition):
        ORDER_MACHINE.next("in_block", "follow", None, {"status": "new"})  # children only end with a block


def test_the_real_kill_switch_query_failing_refuses_the_route(book: Database) -> None:
    from sqlalchemy import text

    from engine.compliance.tables import KillSwitch

    gw = Gateway()
    m = make_oms(book, gateway=gw, clock=ManualClock(OPEN))  # the real KillSwitchGate
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="SIM")])
    with book.transaction() as s:
        s.execute(text(f"DROP TABLE {KillSwitch.__tablename__}"))  # its query now raises
    with pytest.raises(ControlFailed, match="kill switch failed"):
        m.route(outside_hours=True)
    assert gw.sent == []
    with book.session() as s:
        assert s.get(Order, oid).status == "released"  # type: ignore[union-attr]
