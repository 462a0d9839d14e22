"""Who rebalances: a run that saves proposals, and every accept or reject, is done by a signed-in user
with rebalance.run, checked in the engine; a what-if (--no-save) writes nothing at all.

The book is the simulated demo (its demo users sign in without a password, audited `login.demo`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.access.users import set_password
from engine.errors import PermissionDenied, WorkstationError
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.store.database import Database
from engine.store.people import AuditEntry, User
from workstation.cli.main import main


@pytest.fixture
def db(book_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A private copy of the session's demo book (the SQLite backup API copies the WAL too)."""
    target = tmp_path / "book.db"
    src, dst = sqlite3.connect(book_path), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    monkeypatch.delenv("WORKSTATION_PASSWORD", raising=False)
    database = Database(f"sqlite:///{target}")
    yield database
    database.dispose()


def cli(db: Database, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db.url), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def codes(db: Database, n: int = 3) -> str:
    with db.session() as s:
        from engine.store.accounts import Account

        return ",".join(s.scalars(select(Account.code).order_by(Account.code).limit(n)))


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Proposal)) or 0),
            int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0),
        )


def last_audit(db: Database, n: int = 1) -> list[tuple[str, str, str | None, str | None]]:
    with db.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(n)).all()
        return [(e.username, e.action, e.entity, e.entity_id) for e in reversed(rows)]


def run_args(db: Database, *extra: str) -> list[str]:
    return ["rebalance", "--accounts", codes(db), "--executor", "inline", "--no-skip", *extra]


def proposals(db: Database) -> dict[int, tuple[str, str]]:
    with db.session() as s:
        return {p.id: (p.status, p.created_by) for p in s.scalars(select(Proposal))}


def test_a_run_that_saves_needs_a_user_and_a_what_if_writes_nothing(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    before = counts(db)
    code, _, err = cli(db, capsys, *run_args(db))
    assert code == 2 and "--user NAME is required" in err
    code, out, _ = cli(db, capsys, *run_args(db, "--no-save"))
    assert code == 0 and "3 accounts" in out
    assert counts(db) == before  # no proposal, no audit entry


def test_a_wrong_password_is_refused_audited_and_writes_nothing(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as s:
        set_password(s, "pat.pm", "pat.pm", "pat's own password")
    monkeypatch.setenv("WORKSTATION_PASSWORD", "not pat's password")
    n_proposals, _ = counts(db)
    code, _, err = cli(db, capsys, *run_args(db, "--user", "pat.pm"))
    assert code == 2 and "error: wrong user name or password" in err
    assert counts(db)[0] == n_proposals
    assert last_audit(db)[0][:2] == ("pat.pm", "login.failure")
    with db.session() as s:
        assert s.scalar(select(User.failed_logins).where(User.username == "pat.pm")) == 1


def test_a_trader_can_neither_run_nor_accept_a_rebalance(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # The session's demo book may hold other tests' proposals: compare with what was there.
    existing = proposals(db)
    code, _, err = cli(db, capsys, *run_args(db, "--user", "tara.trader"))
    assert code == 2 and "rebalance.run" in err
    demo, denied = last_audit(db, 2)
    assert demo[:2] == ("tara.trader", "login.demo")
    assert denied == ("tara.trader", "permission.denied", "permission", "rebalance.run")
    assert proposals(db) == existing
    code, _, _ = cli(db, capsys, *run_args(db, "--user", "pat.pm"))
    assert code == 0
    pid = min(set(proposals(db)) - set(existing))
    before = proposals(db)
    code, _, err = cli(db, capsys, "rebalance", "accept", str(pid), "--user", "tara.trader", "--json")
    assert code == 2 and "rebalance.run" in err
    assert proposals(db) == before
    assert last_audit(db)[0] == ("tara.trader", "permission.denied", "permission", "rebalance.run")


def test_accept_and_reject_from_the_cli_move_proposals_and_audit_them(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = proposals(db)  # the session's demo book may hold other tests' proposals
    code, out, err = cli(db, capsys, *run_args(db, "--user", "pat.pm"))
    assert code == 0 and "signed in as pat.pm without a password (simulated demo book; audited)" in err
    batch = out.strip().rsplit("batch ", 1)[1]
    made = {pid: v for pid, v in proposals(db).items() if pid not in existing}
    assert {who for _, who in made.values()} == {"pat.pm"}  # the signed-in user created them
    ok = sorted(pid for pid, (st, _) in made.items() if st == "ok")
    assert len(ok) >= 2

    code, out, _ = cli(db, capsys, "rebalance", "accept", str(ok[0]), "--user", "pat.pm", "--json")
    assert code == 0 and json.loads(out) == {"proposals": [{"id": ok[0], "status": "accepted"}], "errors": []}
    assert last_audit(db)[0] == ("pat.pm", "proposal.accept", "proposal", str(ok[0]))

    code, out, _ = cli(
        db,
        capsys,
        "rebalance",
        "reject",
        "--run",
        batch[:8].upper(),  # the short id the desktop and the status bar show
        "--reason",
        "too much tax",
        "--user",
        "pat.pm",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0 and doc == {"proposals": [{"id": p, "status": "rejected"} for p in ok[1:]], "errors": []}
    assert {pid: st for pid, (st, _) in proposals(db).items() if pid in ok} == {
        ok[0]: "accepted",
        **{p: "rejected" for p in ok[1:]},
    }
    with db.session() as s:
        e = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "proposal.reject").order_by(AuditEntry.id.desc())
        ).first()
        assert e is not None and e.username == "pat.pm" and e.reason == "too much tax"

    # One good id and one that does not exist: the good one moves, the other is an error, exit 2.
    code, out, err = cli(
        db, capsys, "rebalance", "accept", str(ok[1]), "999999", "--user", "pat.pm", "--json"
    )
    doc = json.loads(out)
    assert code == 2 and doc["proposals"] == [{"id": ok[1], "status": "accepted"}]
    assert [e["id"] for e in doc["errors"]] == [999999] and "999999" in err
    # A rejection needs a reason; a run with nothing waiting is one clear error.
    assert main(["--db", str(db.url), "rebalance", "reject", str(ok[0]), "--user", "pat.pm"]) == 2
    assert "--reason" in capsys.readouterr().err
    code, _, err = cli(db, capsys, "rebalance", "accept", "--run", batch, "--user", "pat.pm")
    assert code == 2 and "no proposal waiting for review" in err
    # A batch id too short to be safe, or one no run has, is refused before anything moves.
    code, _, err = cli(db, capsys, "rebalance", "accept", "--run", batch[:4], "--user", "pat.pm")
    assert code == 2 and "at least 6 characters" in err
    code, _, err = cli(db, capsys, "rebalance", "accept", "--run", "ffffffffff", "--user", "pat.pm")
    assert code == 2 and "no bulk run has this id" in err


def test_run_bulk_itself_refuses_a_missing_or_unpermitted_user(db: Database) -> None:
    ids: Any = None
    before = counts(db)
    with pytest.raises(WorkstationError, match="signed-in user"):
        run_bulk(db, RebalanceSettings(), ids, executor="inline")
    with pytest.raises(PermissionDenied):
        run_bulk(db, RebalanceSettings(), ids, executor="inline", user="cora.compliance")
    assert counts(db) == (before[0], before[1] + 1)  # the refusal is audited; no proposal
    assert last_audit(db)[0] == ("cora.compliance", "permission.denied", "permission", "rebalance.run")
