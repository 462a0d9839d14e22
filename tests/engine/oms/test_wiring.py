"""The OMS with the real compliance checker, and the `orders` CLI contracts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from engine.access.users import create_user
from engine.compliance import approvals
from engine.compliance.checker import ComplianceChecker
from engine.compose import build_order_manager
from engine.oms.tables import Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance
from engine.store.reference import Security
from tests.conftest import migrated
from tests.engine.oms.book import make_book
from workstation.cli.main import main
from workstation.compose import order_manager

HEADER = "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"


PASSWORD = "trader password 1"


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = migrated(url)
    make_book(db)
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    with db.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "tr1", "Trader One", "trader", PASSWORD)
        for sec in s.scalars(select(Security)):
            s.add(
                PriceBar(
                    security_id=sec.id, date=date(2026, 10, 30), close=Decimal(100), volume=10**7, source="t"
                )
            )
        for q, r in (("USD", "1.08"), ("GBP", "0.87"), ("JPY", "165")):
            s.add(FxRate(base="EUR", quote=q, date=date(2026, 10, 30), rate=Decimal(r), source="t"))
        for a in s.scalars(select(Account)):
            s.add(
                CashBalance(
                    account_id=a.id, currency="USD", settled=Decimal(10_000_000), unsettled=Decimal(0)
                )
            )
        s.execute(update(Account).values(kyc_review_date=date(2027, 6, 30)))
    return url, db


def test_import_runs_the_real_compliance_checker(book: tuple[str, Database], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, db = book
    assert isinstance(order_manager(db).checker, ComplianceChecker)  # what `orders import` builds
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,AAPL,buy,100,market,,day,SIM\nACC2,AAPL,buy,100,limit,0.01,day,SIM\n")
    assert main(["--db", url, "orders", "import", str(f), "--user", "tr1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] == 2 and out["rejected"] >= 1  # a limit 99.99% from the last price is blocked
    with db.session() as s:
        statuses = dict(s.execute(select(Order.limit_price, Order.status)).all())
    assert statuses[Decimal("0.01")] == "rejected"
    assert statuses[None] in ("released", "pending_approval")
    with db.session() as s:
        waiting = set(s.scalars(select(Order.id).where(Order.status == "pending_approval")))
        cases = {int(c["entity_id"]) for c in approvals.queue(s) if c["entity"] == "order"}
    assert waiting <= cases  # every flagged order waits in an approval case


def test_orders_import_bad_rows_write_nothing(book: tuple[str, Database], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, db = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,AAPL,buy,100,market,,day,SIM\nACC9,AAPL,buy,abc,market,,day,SIM\n")
    assert main(["--db", url, "orders", "import", str(f), "--user", "tr1"]) == 2
    err = capsys.readouterr().err
    assert "row 3, column account" in err and "row 3, column quantity" in err
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0


def test_orders_list_json_shape(book: tuple[str, Database], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url, _ = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,VOD.L,sell,100,market,,gtc,SIM\n")
    main(["--db", url, "orders", "import", str(f), "--user", "tr1"])
    capsys.readouterr()
    assert main(["--db", url, "orders", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    for key in (
        "status",
        "order_qty",
        "cum_qty",
        "leaves_qty",
        "avg_px",
        "cl_ord_id",
        "broker_order_id",
        "account",
    ):
        assert key in row
    assert (row["account"], row["order_qty"], row["leaves_qty"], row["allocations"]) == ("ACC1", 100, 100, [])


def test_an_unknown_user_creates_nothing_and_the_refusal_stays_on_record(
    book: tuple[str, Database], tmp_path: Path
) -> None:
    from engine.errors import PermissionDenied
    from engine.oms.drafts import OrderDraft
    from engine.store.people import AuditEntry

    _, db = book

    manager = build_order_manager(db)
    draft = OrderDraft(account="ACC1", symbol="AAPL", side="buy", quantity=Decimal(100), broker="SIM")
    with pytest.raises(PermissionDenied):
        manager.create([draft], "ghost")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        denied = s.execute(
            select(AuditEntry.username, AuditEntry.entity_id).where(AuditEntry.action == "permission.denied")
        ).all()
    assert [tuple(r) for r in denied] == [("ghost", "orders.create")]
    # a compliance user may check orders but not create them; a trader may
    with db.transaction() as s:
        create_user(s, "ad1", "co1", "Compliance One", "compliance", "compliance password 1")
    with pytest.raises(PermissionDenied, match=r"orders\.create"):
        manager.create([draft], "co1")
    assert len(manager.create([draft], "tr1")) == 1


def test_a_flagged_import_waits_in_the_compliance_queue(
    book: tuple[str, Database], tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    url, _ = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,AAPL,buy,30000,market,,day,SIM\n")
    assert main(["--db", url, "orders", "import", str(f), "--user", "tr1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pending_approval"] == 1, out
    [oid] = out["order_ids"]
    assert main(["--db", url, "compliance", "queue", "--json"]) == 0
    [case] = json.loads(capsys.readouterr().out)["cases"]
    assert (case["entity"], case["entity_id"], case["created_by"]) == ("order", str(oid), "tr1")
