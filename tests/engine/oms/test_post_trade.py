"""Allocation instructions without a wire (a recording gateway), on SQLite and PostgreSQL: the J's
contents, the custodian account number as AllocAccount, every broker answer and its replay (applied
once), the re-send's permission and audit, the rotation, and the CLI contracts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.access.users import create_user
from engine.clock import ManualClock
from engine.errors import PermissionDenied
from engine.oms.drafts import OrderDraft
from engine.oms.errors import OrderRejected
from engine.oms.messages import AllocAck, AllocInstruction, AllocReport, BusinessReject, ExecReport, NewOrder
from engine.oms.rotation import fairness_log
from engine.oms.service import OrderManager
from engine.oms.tables import AllocInstruction as Instruction
from engine.reconcile.tables import Statement, StatementPosition
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.oms.book import Gateway, make_book, make_oms
from workstation.cli.main import main

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PASSWORD = "trader password 1"


@pytest.fixture
def oms(database: Database) -> Iterator[tuple[OrderManager, Gateway]]:
    make_book(database)
    gw = Gateway()
    yield make_oms(database, gateway=gw, clock=ManualClock(OPEN)), gw


def fill_block(
    m: OrderManager, qtys: tuple[int, ...] = (300, 500, 700), px: str = "100.5"
) -> tuple[int, str]:
    ids = m.create(
        [
            OrderDraft(a, "AAPL", "buy", Decimal(q), broker="SIM")
            for a, q in zip(("ACC1", "ACC2", "ACC3"), qtys)
        ]
    )
    [bid] = m.build_blocks(ids)
    m.route([bid], outside_hours=True)
    with m.database.session() as s:
        from engine.oms.tables import Order

        cl = s.get(Order, bid).cl_ord_id  # type: ignore[union-attr]
    total = sum(qtys)
    m.apply(ExecReport(broker="SIM", exec_id=f"F-{cl}", exec_type="F", ord_status="2", cl_ord_id=cl,
                       broker_order_id="O-1", last_qty=Decimal(total), last_px=Decimal(px),
                       cum_qty=Decimal(total), avg_px=Decimal(px), transact_time=OPEN))  # fmt: skip
    return bid, cl


def one(db: Database) -> Instruction:
    with db.session() as s:
        return s.scalars(select(Instruction).order_by(Instruction.id.desc())).first()  # type: ignore[return-value]


def test_instruction_contents_and_custodian_account(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    with m.database.transaction() as s:  # the custodian knows ACC2 as C-2002 (a loaded statement)
        st = Statement(custodian="TEST", file_name="p.csv", file_hash="h1", format="generic-csv", kind="positions",
                       as_of=date(2026, 11, 20), lines=1)  # fmt: skip
        s.add(st)
        s.flush()
        s.add(StatementPosition(statement_id=st.id, row=1, account_code="ACC2", custodian_account="C-2002",
                                security_ref="AAPL", id_type="ticker", quantity=Decimal(1)))  # fmt: skip
    _, cl = fill_block(m)
    [j] = [x for x in gw.sent if isinstance(x, AllocInstruction)]
    assert (j.trans_type, j.alloc_type, j.side, j.symbol, j.mic) == ("new", "2", "buy", "AAPL", "XNAS")
    assert j.cl_ord_ids == ((cl, "O-1"),) and (j.quantity, j.avg_px) == (1500, Decimal("100.5"))
    assert [(x.alloc_account, x.quantity) for x in j.lines] == [("ACC1", 300), ("C-2002", 500), ("ACC3", 700)]
    assert sum(x.quantity for x in j.lines) == j.quantity
    assert j.trade_date == date(2026, 11, 23) and j.settle_date == date(2026, 11, 24)
    assert one(m.database).status == "sent"


def test_answers_apply_once_and_replays_are_ignored(oms) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    fill_block(m)
    a = one(m.database).alloc_id
    received = AllocAck(broker="SIM", alloc_id=a, alloc_status="3")
    accepted = AllocAck(broker="SIM", alloc_id=a, alloc_status="0")
    report = AllocReport(broker="SIM", report_id="R1", alloc_id=a, alloc_status="0", report_type="3")
    m.apply_batch([received, accepted, report])
    assert (one(m.database).status, one(m.database).report_id) == ("accepted", "R1")
    before = m.duplicates
    m.apply_batch([received, accepted, report])  # a restart's resend: PossDup copies
    assert m.duplicates == before + 3 and m.alerts == 0
    with m.database.session() as s:
        n = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_id == a))
    assert n == 5  # create, send, received, accept, report
    m.apply(AllocAck(broker="SIM", alloc_id="AL-nope", alloc_status="0"))
    assert m.alerts == 1  # an ack for an unknown AllocID is alerted, nothing else changes


def test_rejection_resend_permission_and_audit(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    fill_block(m)
    a = one(m.database).alloc_id
    m.apply(AllocAck(broker="SIM", alloc_id=a, alloc_status="2", reject_code=0, text="unknown account(s): ACC2",
                     accounts=(("ACC2", 0, "unknown account"),)))  # fmt: skip
    r = one(m.database)
    assert (r.status, r.reject_code) == ("rejected", 0)
    assert r.reject_text == "unknown account(s): ACC2"
    with pytest.raises(OrderRejected, match="account ACC9 is not in it"):
        m.resend_allocation(a, "trader1", {"ACC9": "X"})
    assert one(m.database).alloc_id == a  # nothing written
    new = m.resend_allocation(a, "trader1", {"ACC2": "C-2"})
    j = gw.sent[-1]
    assert isinstance(j, AllocInstruction) and (j.alloc_id, j.trans_type, j.ref_alloc_id) == (
        new,
        "replace",
        a,
    )
    assert [x.alloc_account for x in j.lines] == ["ACC1", "C-2", "ACC3"]
    with m.database.session() as s:
        e = s.scalars(
            select(AuditEntry).where(AuditEntry.entity_id == a).order_by(AuditEntry.id.desc())
        ).first()
    assert e is not None and (e.action, e.username) == ("oms.allocation.replace", "trader1")
    assert e.after["corrections"] == {"ACC2": "C-2"} and e.after["by"] == new  # type: ignore[index]


def test_business_reject_keeps_it_sent_with_one_alert(oms) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    fill_block(m)
    a = one(m.database).alloc_id
    bmr = BusinessReject(broker="SIM", ref_msg_type="J", ref_id=a, reason=3, text="Unsupported Message Type")
    m.apply(bmr)
    m.apply(bmr)
    assert one(m.database).status == "sent" and one(m.database).alerted_at is not None
    assert m.alerts == 1


def test_rotation_alternates_between_two_brokers(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    firsts = []
    for _ in range(4):
        gw.sent.clear()
        ids = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(10), broker="X1"),
                        OrderDraft("ACC2", "AAPL", "buy", Decimal(10), broker="X2"),
                        OrderDraft("ACC3", "AAPL", "sell", Decimal(10), broker="X1")])  # fmt: skip
        m.route(ids, outside_hours=True)
        firsts.append([(x.broker, x.side) for x in gw.sent if isinstance(x, NewOrder)])
    assert [f[0][0] for f in firsts] == ["X1", "X2", "X1", "X2"]
    with m.database.session() as s:
        log = fairness_log(s)
    assert len(log) == 4  # the lone sell at X1 has no rival broker: no rotation for it
    assert [r["brokers"][0]["accounts"] for r in log] == [["ACC2"], ["ACC1"], ["ACC2"], ["ACC1"]]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_cli_contracts(database: Database, oms, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    url = database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    with database.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "tr1", "Trader One", "trader", PASSWORD)
        create_user(s, "ad1", "pm1", "PM One", "portfolio_manager", PASSWORD)
    fill_block(m)
    a = one(database).alloc_id
    m.apply(
        AllocAck(broker="SIM", alloc_id=a, alloc_status="1", reject_code=8, text="AllocQty adds up to 1400")
    )
    capsys.readouterr()
    assert main(["--db", url, "orders", "allocations", "--status", "rejected", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["alloc_id"], row["status"], row["reject_code"], row["broker"]) == (a, "rejected", 8, "SIM")
    assert row["reason"] == "incorrect allocated quantity: AllocQty adds up to 1400"
    assert [x["quantity"] for x in row["allocs"]] == [300, 500, 700]
    assert main(["--db", url, "orders", "allocations", "resend", a, "--user", "pm1"]) == 2
    assert "orders.route" in capsys.readouterr().err
    assert one(database).alloc_id == a  # refused: nothing written
    assert (
        main(
            [
                "--db",
                url,
                "orders",
                "allocations",
                "resend",
                a,
                "--user",
                "tr1",
                "--alloc-account",
                "ACC2",
                "--json",
            ]
        )
        == 2
    )
    assert "ACCOUNT=ALLOCACCOUNT" in capsys.readouterr().err
    assert main(["--db", url, "orders", "allocations", "resend", a, "--user", "tr1", "--json"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert (new["status"], new["trans_type"], new["ref_alloc_id"]) == ("pending", "replace", a)
    assert main(["--db", url, "orders", "allocations", "--json"]) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["replaced", "pending"]
    assert main(["--db", url, "orders", "rotation", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_permission_denied_is_raised_by_the_real_gate(database: Database) -> None:
    from engine.access.guard import require

    make_book(database)
    setup = make_oms(database, gateway=Gateway(), clock=ManualClock(OPEN))
    with database.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "pm1", "PM One", "portfolio_manager", PASSWORD)
        create_user(s, "ad1", "tr1", "Trader One", "trader", PASSWORD)
    fill_block(setup)
    setup.apply(AllocAck(broker="SIM", alloc_id=one(database).alloc_id, alloc_status="1", reject_code=7))
    m = make_oms(database, gateway=Gateway(), clock=ManualClock(OPEN), authorize=require)
    with pytest.raises(PermissionDenied):
        m.resend_allocation(one(database).alloc_id, "pm1")
    assert one(database).status == "rejected"
    assert m.resend_allocation(one(database).alloc_id, "tr1") == one(database).alloc_id
