"""Released rebalance proposals become OMS orders: the orders equal the proposal's trades (FX spot
trades and chosen lots included), a second release or a racing desk creates nothing new, a PM
cannot release a flagged proposal (refusal audited), and what compliance approved on the proposal
is not flagged again unless the terms changed."""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import resources
from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase
from engine.compose import build_order_manager
from engine.demo.build import build_demo_book
from engine.errors import PermissionDenied
from engine.oms.fx import fx_symbol
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.rebalance.bulk import run_bulk
from engine.rebalance.review import review
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.release import proposals as release_mod
from engine.release.proposals import release_proposal
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.conftest import _pg_admin, _pg_url_for, migrated, pg_url

TODAY = date(2026, 11, 22)


def _build(database: Database) -> None:
    """8 demo accounts, one inline rebalance, every proposal with trades accepted and submitted."""
    build_demo_book(database, resources.path("reference"), accounts=8, seed=7, today=TODAY)
    run_bulk(database, RebalanceSettings(), None, executor="inline", user="pat.pm")
    with database.transaction() as s:
        for p in list(s.scalars(select(Proposal).where(Proposal.status == "ok").order_by(Proposal.id))):
            if (p.payload or {}).get("trades"):
                review(s, "pat.pm", p.id, "accept")
                approvals.submit(s, "pat.pm", "proposal", p.id)


@pytest.fixture(scope="module")
def sqlite_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("release") / "book.db"
    database = migrated(f"sqlite:///{path}")
    _build(database)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="module")
def pg_book() -> Iterator[str]:
    base = pg_url()
    if not base:
        pytest.skip("WORKSTATION_TEST_PG_URL not set")
    name = f"ws_h2_{uuid.uuid4().hex[:10]}"
    with _pg_admin(base).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    database = migrated(_pg_url_for(base, name))
    _build(database)
    database.dispose()
    yield name
    with _pg_admin(base).connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh copy of the released-proposals book, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "book.db"
        shutil.copyfile(request.getfixturevalue("sqlite_book"), target)
        db = Database(f"sqlite:///{target}")
        yield db
        db.dispose()
        return
    template = request.getfixturevalue("pg_book")
    base = pg_url()
    assert base
    name = f"ws_h2c_{uuid.uuid4().hex[:10]}"
    with _pg_admin(base).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    db = Database(_pg_url_for(base, name))
    try:
        yield db
    finally:
        db.dispose()
        with _pg_admin(base).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def oms(database: Database) -> OrderManager:
    return build_order_manager(database)


def cases(database: Database, *states: str) -> list[int]:
    """Proposal ids whose approval case is in one of `states`."""
    with database.session() as s:
        return [
            int(c.entity_id)
            for c in s.scalars(
                select(ApprovalCase).where(ApprovalCase.entity == "proposal", ApprovalCase.state.in_(states))
            )
        ]


def approve_all(database: Database) -> list[int]:
    """Compliance approves every pending proposal (two approvers for a hard block)."""
    out = []
    with database.transaction() as s:
        for c in approvals.queue(s):
            approvals.decide(s, "cora.compliance", c["id"], "approve", "risk_accepted", "reviewed")
            if c["hard_block"]:
                approvals.decide(s, "cole.compliance", c["id"], "approve", "risk_accepted", "second")
            out.append(int(c["entity_id"]))
    return out


def orders_of(database: Database, pid: int) -> list[dict[str, Any]]:
    with database.session() as s:
        rows = s.execute(
            select(Order, Security.symbol).join(Security, Security.id == Order.security_id)
            .where(Order.proposal_id == pid).order_by(Order.id)
        ).all()  # fmt: skip
        return [
            {"symbol": sym, "side": o.side, "quantity": Decimal(o.quantity), "status": o.status,
             "lots": o.lot_instructions, "account_id": o.account_id, "broker": o.broker}
            for o, sym in rows
        ]  # fmt: skip


def audit(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_clean_release_makes_the_proposals_trades_as_orders_once(book: Database) -> None:
    clean = cases(book, approvals.CHECKED)
    assert clean, "the demo rebalance gave no clean proposal"
    pid = clean[0]
    r = release_proposal(oms(book), "pat.pm", pid, broker="SIM")
    assert r.state == "released"
    with book.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.status == "released"
        payload = p.payload
        lot_refs = dict(
            s.execute(select(TaxLot.id, TaxLot.lot_ref).where(TaxLot.account_id == p.account_id)).all()
        )
        assert approvals.find_case(s, "proposal", pid).state == approvals.RELEASED  # type: ignore[union-attr]
    got = orders_of(book, pid)
    want = [(t["symbol"], t["side"], Decimal(str(t["quantity"]))) for t in payload["trades"]]
    want += [(fx_symbol(t["currency"], t["against"]), t["side"], Decimal(str(t["amount"])))
             for t in payload["fx_trades"]]  # fmt: skip
    assert payload["fx_trades"], "expected FX funding trades in this proposal"
    assert [(o["symbol"], o["side"], o["quantity"]) for o in got] == want
    assert sorted(r.order_ids) == r.order_ids and len(r.order_ids) == len(want)
    assert {o["status"] for o in got} == {"released"}
    assert {o["broker"] for o in got} == {"SIM"}  # FX orders go with the securities unless told otherwise
    for t, o in zip(payload["trades"], got):  # sells carry the lots the optimiser chose
        if t["side"] == "sell":
            assert [(x["lot_ref"], Decimal(x["quantity"])) for x in o["lots"]] == [
                (lot_refs[x["lot_id"]], Decimal(str(x["quantity"]))) for x in t["lots"]
            ]
        else:
            assert o["lots"] is None
    with book.session() as s:  # the FX instrument is priced in the account's base currency
        fx = payload["fx_trades"][0]
        sec = s.scalars(
            select(Security).where(Security.symbol == fx_symbol(fx["currency"], fx["against"]))
        ).one()
        assert (sec.asset_class, sec.currency) == ("fx_spot", fx["against"])
    [entry] = [e for e in audit(book, "proposal.release") if e.entity_id == str(pid)]
    assert entry.username == "pat.pm" and entry.after["orders"] == len(want)

    again = release_proposal(oms(book), "tara.trader", pid, broker="SIM")  # twice: nothing new
    assert again.state == "already_released" and again.order_ids == r.order_ids
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(Order).where(Order.proposal_id == pid)) == len(want)


def test_fx_orders_go_to_the_fx_broker_when_one_is_named(book: Database) -> None:
    pid = cases(book, approvals.CHECKED)[0]
    r = release_proposal(oms(book), "pat.pm", pid, broker="SIM", fx_broker="FXDESK")
    assert r.state == "released"
    with book.session() as s:
        payload = s.get(Proposal, pid).payload  # type: ignore[union-attr]
    n = len(payload["trades"])
    got = orders_of(book, pid)
    assert len(got) > n, "expected FX funding trades in this proposal"
    assert {o["broker"] for o in got[:n]} == {"SIM"} and {o["broker"] for o in got[n:]} == {"FXDESK"}


def test_a_pm_cannot_release_a_flagged_proposal_and_the_refusal_is_audited(book: Database) -> None:
    flagged = cases(book, approvals.PENDING)
    assert flagged
    pending = release_proposal(oms(book), "tara.trader", flagged[0], broker="SIM")
    assert pending.state == "pending_approval" and not pending.order_ids
    approve_all(book)
    pid = flagged[0]
    with pytest.raises(PermissionDenied):
        release_proposal(oms(book), "pat.pm", pid, broker="SIM")
    denied = [e for e in audit(book, "permission.denied") if e.username == "pat.pm"]
    assert denied and denied[-1].after["permission"] == "orders.release_flagged"
    assert orders_of(book, pid) == []
    with book.session() as s:
        assert s.get(Proposal, pid).status == "accepted"  # type: ignore[union-attr]
        assert approvals.find_case(s, "proposal", pid).state == approvals.APPROVED  # type: ignore[union-attr]
    with pytest.raises(PermissionDenied):  # compliance approves but never creates orders
        release_proposal(oms(book), "cora.compliance", pid, broker="SIM")

    r = release_proposal(oms(book), "tara.trader", pid, broker="SIM")
    assert r.state == "released"
    # Same terms as approved: the approved hits are not flagged again.
    assert r.statuses == {"released": len(r.order_ids)}
    with book.session() as s:
        case = approvals.find_case(s, "proposal", pid)
        assert case is not None and case.state == approvals.RELEASED
        approved = {d["user"] for d in approvals.case_detail(s, case.id)["decisions"]}
    assert "cora.compliance" in approved


def test_changed_terms_are_checked_again(book: Database) -> None:
    """After approval the proposal's trades were edited: the carried-over approval no longer
    applies, so the hits compliance saw hold those orders for approval again."""
    flagged = cases(book, approvals.PENDING)
    approve_all(book)
    with book.session() as s:
        case_results = {
            pid: approvals.case_detail(s, approvals.find_case(s, "proposal", pid).id)["results"]  # type: ignore[union-attr]
            for pid in flagged
        }
    pid, hit = next(
        (pid, r) for pid, rows in case_results.items() for r in rows
        if r["outcome"] == "flag" and r["side"] == "buy"
    )  # fmt: skip
    with book.transaction() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        payload = dict(p.payload)
        trades = [dict(t) for t in payload["trades"]]
        for t in trades:
            if t["symbol"] == hit["symbol"] and t["side"] == "buy":
                t["quantity"] = float(t["quantity"]) + 1
        payload["trades"] = trades
        p.payload = payload
    r = release_proposal(oms(book), "tara.trader", pid, broker="SIM")
    assert r.state == "released"
    got = {(o["symbol"], o["side"]): o["status"] for o in orders_of(book, pid)}
    assert got[(hit["symbol"], "buy")] in ("pending_approval", "rejected")


@pytest.mark.postgres
def test_two_desks_racing_one_release_make_one_set_of_orders(
    pg_book: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = pg_url()
    assert base
    name = f"ws_h2r_{uuid.uuid4().hex[:10]}"
    with _pg_admin(base).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{pg_book}"')
    desks = [Database(_pg_url_for(base, name)) for _ in range(2)]
    try:
        pid = cases(desks[0], approvals.CHECKED)[0]
        both_read = threading.Barrier(2, timeout=30)
        read = release_mod._read_proposal

        def slow_read(session: Any, proposal_id: int) -> Proposal:
            p = read(session, proposal_id)
            if threading.current_thread().name.startswith("desk"):
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_read.wait()  # both desks have read it as accepted before either writes
            return p

        monkeypatch.setattr(release_mod, "_read_proposal", slow_read)
        results: dict[str, Any] = {}

        def desk(i: int) -> None:
            try:
                results[f"d{i}"] = release_proposal(
                    oms(desks[i]), ("pat.pm", "tara.trader")[i], pid, broker="SIM"
                )
            except Exception as exc:  # the test reports it
                results[f"d{i}"] = exc

        threads = [threading.Thread(target=desk, args=(i,), name=f"desk{i}") for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        states = sorted(getattr(r, "state", repr(r)) for r in results.values())
        assert states == ["already_released", "released"], results
        ids = [r.order_ids for r in results.values()]
        assert ids[0] == ids[1]
        with desks[0].session() as s:
            n = s.scalar(select(func.count()).select_from(Order).where(Order.proposal_id == pid))
            assert n == len(ids[0])
            assert len([e for e in audit(desks[0], "proposal.release") if e.entity_id == str(pid)]) == 1
    finally:
        for d in desks:
            d.dispose()
        with _pg_admin(base).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_cli_release_by_run_prints_each_proposal_and_json(
    sqlite_book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.access.users import set_password
    from workstation.cli.main import main

    target = tmp_path / "book.db"
    shutil.copyfile(sqlite_book, target)
    url = f"sqlite:///{target}"
    db = Database(url)
    with db.transaction() as s:
        set_password(s, "pat.pm", "pat.pm", "pm password 12")
        batch = s.scalars(select(Proposal.batch_id)).first()
    clean, flagged = cases(db, approvals.CHECKED), cases(db, approvals.PENDING)
    monkeypatch.setenv("WORKSTATION_PASSWORD", "pm password 12")
    code = main(
        ["--db", url, "rebalance", "release", "--run", str(batch), "--user", "pat.pm", "--broker", "SIM"]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(clean) + len(flagged)
    assert sum("released, " in ln for ln in lines) == len(clean)
    assert sum("pending approval" in ln for ln in lines) == len(flagged)
    code = main(
        ["--db", url, "rebalance", "release", "--proposals", str(clean[0]), "--user", "pat.pm", "--json"]
    )
    [rec] = json.loads(capsys.readouterr().out)
    assert (
        code == 0
        and rec["state"] == "already_released"
        and rec["orders"] == [o["id"] for o in order_ids(db, clean[0])]
    )
    db.dispose()


def order_ids(database: Database, pid: int) -> list[dict[str, int]]:
    with database.session() as s:
        return [
            {"id": i} for i in s.scalars(select(Order.id).where(Order.proposal_id == pid).order_by(Order.id))
        ]
