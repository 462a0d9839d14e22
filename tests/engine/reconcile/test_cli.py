"""`workstation reconcile` signs its --user in for every command that writes: a wrong password or a
trader changes nothing (and is on record), nobody approves their own adjustment, and a cash
adjustment needs two signed-in people. Loads and runs are audited with what they did."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine.reconcile.tables import Adjustment, Break
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.positions import CashBalance
from tests.conftest import migrated
from tests.engine.reconcile.minibook import IDS, PASSWORD, build, give_passwords
from workstation.cli.main import main

CUST = "CUST-T"  # no profile: generic CSV
HEADER = "custodian,account,security_id,id_type,quantity,currency,market_value,as_of"


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, str, Path]]:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    database = migrated(url)
    build(database)
    with database.transaction() as s:
        s.execute(update(Account).values(custodian=CUST))
    give_passwords(database, "olivia.ops", "cora.compliance", "cole.compliance", "tara.trader")
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    f = tmp_path / "positions.csv"
    f.write_text(
        f"{HEADER}\n{CUST},A000001,{IDS['AAA']['isin']},ISIN,120,USD,,2026-10-30\n", encoding="utf-8"
    )
    yield database, url, f
    database.dispose()


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _count(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _loaded_and_run(db: Database, url: str, f: Path) -> int:
    assert main(["--db", url, "reconcile", "load", str(f), "--custodian", CUST, "--user", "olivia.ops"]) == 0
    assert main(["--db", url, "reconcile", "run", "--as-of", "2026-10-30", "--user", "olivia.ops"]) == 0
    with db.session() as s:
        return int(s.scalars(select(Break.id).where(Break.security_ref == "AAA")).one())


CASH = ["--kind", "cash", "--currency", "USD", "--amount", "1000000", "--date", "2026-10-30"]


def test_loads_and_runs_are_signed_in_and_audited(
    book: tuple[Database, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url, f = book
    bid = _loaded_and_run(db, url, f)
    [load] = _audit(db, "reconcile.load")
    assert load.username == "olivia.ops"
    assert {k: load.after[k] for k in ("file", "custodian", "lines", "positions", "cash", "as_of")} == {
        "file": "positions.csv", "custodian": CUST, "lines": 1, "positions": 1, "cash": 0, "as_of": "2026-10-30",
    }  # fmt: skip
    [run] = _audit(db, "reconcile.run")
    assert run.username == "olivia.ops" and run.after["as_of"] == "2026-10-30"
    assert run.after["open"] >= 1 and run.after["breaks"] == run.after["open"] + run.after["explained"]
    [opened] = [e for e in _audit(db, "reconcile.break.open") if e.entity_id == str(bid)]
    assert opened.username == "olivia.ops" and opened.after["status"] == "open"
    assert [e.username for e in _audit(db, "login.success")] == ["olivia.ops", "olivia.ops"]
    # A trader may neither load nor run: refused, on record, nothing written.
    runs = _count(db, AuditEntry)
    assert main(["--db", url, "reconcile", "run", "--as-of", "2026-10-30", "--user", "tara.trader"]) == 2
    assert "tara.trader" in capsys.readouterr().err
    assert [e.after["permission"] for e in _audit(db, "permission.denied")] == ["reconcile.run"]
    assert len(_audit(db, "reconcile.run")) == 1 and _count(db, AuditEntry) == runs + 2  # login + refusal
    # --user is required: no name, no run.
    assert main(["--db", url, "reconcile", "run", "--as-of", "2026-10-30"]) == 2
    assert "--user" in capsys.readouterr().err


def test_a_wrong_password_writes_nothing(
    book: tuple[Database, str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, url, f = book
    bid = _loaded_and_run(db, url, f)
    capsys.readouterr()
    monkeypatch.setenv("WORKSTATION_PASSWORD", "not the password")
    for argv in (
        ["adjust", str(bid), *CASH, "--user", "cora.compliance"],
        ["assign", str(bid), "--owner", "cora.compliance", "--user", "cora.compliance"],
        ["comment", str(bid), "hello", "--user", "cora.compliance"],
        ["resolve", str(bid), "timing", "--user", "cora.compliance"],
        ["load", str(f), "--custodian", CUST, "--user", "olivia.ops"],
    ):
        assert main(["--db", url, "reconcile", *argv]) == 2, argv
        assert capsys.readouterr().err.startswith("error: wrong user name or password")
    with db.session() as s:
        b = s.get(Break, bid)
        assert (b.status, b.owner) == ("open", None)
    assert _count(db, Adjustment) == 0 and _audit(db, "reconcile.break.assign") == []
    assert len(_audit(db, "login.failure")) == 5 and len(_audit(db, "reconcile.load")) == 1


def test_a_trader_cannot_propose_and_nobody_approves_their_own(
    book: tuple[Database, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url, f = book
    bid = _loaded_and_run(db, url, f)
    capsys.readouterr()
    assert main(["--db", url, "reconcile", "adjust", str(bid), *CASH, "--user", "tara.trader"]) == 2
    assert "reconcile.adjust" in capsys.readouterr().err
    assert _count(db, Adjustment) == 0
    assert [(e.username, e.after["permission"]) for e in _audit(db, "permission.denied")] == [
        ("tara.trader", "reconcile.adjust")
    ]
    assert main(["--db", url, "reconcile", "adjust", str(bid), *CASH, "--user", "cora.compliance"]) == 0
    with db.session() as s:
        adj = s.scalars(select(Adjustment.id)).one()
    assert main(["--db", url, "reconcile", "approve", str(adj), "--user", "cora.compliance"]) == 2
    assert "cannot also approve" in capsys.readouterr().err
    assert main(["--db", url, "reconcile", "approve", str(adj), "--user", "tara.trader"]) == 2
    with db.session() as s:
        assert s.get(Adjustment, adj).status == "proposed"
        assert s.get(Break, bid).status == "open"
    assert [e.username for e in _audit(db, "reconcile.adjustment.self_refused")] == ["cora.compliance"]
    assert _audit(db, "reconcile.adjustment.approve") == []


def test_two_signed_in_people_book_a_cash_adjustment(
    book: tuple[Database, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url, f = book
    bid = _loaded_and_run(db, url, f)
    assert main(["--db", url, "reconcile", "assign", str(bid), "--owner", "cora.compliance",
                 "--user", "olivia.ops"]) == 0  # fmt: skip
    assert main(["--db", url, "reconcile", "adjust", str(bid), *CASH, "--user", "cora.compliance"]) == 0
    with db.session() as s:
        adj = s.scalars(select(Adjustment.id)).one()
    assert main(["--db", url, "reconcile", "approve", str(adj), "--reason", "custodian confirmed",
                 "--user", "cole.compliance"]) == 0  # fmt: skip
    assert f"booked as RECON-ADJ-{adj}" in capsys.readouterr().out
    with db.session() as s:
        b = s.get(Break, bid)
        assert (b.status, b.resolution, b.resolved_by, b.owner) == (
            "resolved", "book_adjustment", "cole.compliance", "cora.compliance",
        )  # fmt: skip
        a = s.get(Adjustment, adj)
        assert (a.status, a.author, a.approver) == ("booked", "cora.compliance", "cole.compliance")
        us = s.scalars(select(Account.id).where(Account.code == "A000001")).one()
        bal = s.scalars(
            select(CashBalance).where(CashBalance.account_id == us, CashBalance.currency == "USD")
        ).one()
    assert Decimal(bal.settled) == Decimal(1_000_000)
    logins = [e.username for e in _audit(db, "login.success")]
    assert logins == ["olivia.ops", "olivia.ops", "olivia.ops", "cora.compliance", "cole.compliance"]
    [propose] = _audit(db, "reconcile.adjustment.propose")
    [approve] = _audit(db, "reconcile.adjustment.approve")
    assert (propose.username, approve.username) == ("cora.compliance", "cole.compliance")
    assert approve.before["status"] == "proposed" and approve.after["status"] == "booked"
    [resolved] = _audit(db, "reconcile.break.resolve")
    assert resolved.username == "cole.compliance" and resolved.after["resolution"] == "book_adjustment"
