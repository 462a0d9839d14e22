"""`workstation retention policy|set|purge`, `audit verify` after a purge, and `client export`,
through the CLI with signed-in users (password and second factor) and the keychain's keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from engine.access.login import hash_password
from engine.audit.tables import AuditCheckpoint
from engine.store.database import Database
from engine.store.people import User
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import codes_at_the_prompt
from tests.engine.retention.oldbook import build_oldbook
from workstation.cli.main import main

PW = "a long enough password"


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    database = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    build_oldbook(database)
    with database.transaction() as s:
        s.execute(update(User).values(password_hash=hash_password(PW)))
    monkeypatch.setenv("WORKSTATION_PASSWORD", PW)
    codes_at_the_prompt(monkeypatch, database, "ad1", "co1", "co2")
    yield database
    database.dispose()


def cli(db: Database, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db.url), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_purge_then_audit_verify_accepts_the_chain_and_refuses_a_tampered_checkpoint(
    book: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(book, capsys, "retention", "policy", "--json")
    assert code == 0 and {k["kind"]: k["months"] for k in json.loads(out)["kinds"]}["audit"] == 84
    fix = ["--fix-dir", str(tmp_path / "fix")]
    code, out, _ = cli(
        book,
        capsys,
        "retention",
        "purge",
        "--before",
        "2020-01-01",
        "--user",
        "ad1",
        "--dry-run",
        "--json",
        *fix,
    )
    dry = json.loads(out)
    assert code == 0 and dry["dry_run"] and dry["total_rows"] > 0
    code, out, err = cli(
        book, capsys, "retention", "purge", "--before", "2020-01-01", "--user", "ad1", "--json", *fix
    )
    done = json.loads(out)
    assert code == 0, err
    assert (
        done["total_rows"] == dry["total_rows"] and done["checkpoint"]["count"] == dry["checkpoint"]["count"]
    )
    code, out, _ = cli(book, capsys, "audit", "verify")
    assert code == 0 and "audit chain intact" in out and "signed checkpoint" in out, out
    code, out, _ = cli(book, capsys, "audit", "verify", "--json")
    verdict = json.loads(out)
    assert verdict["ok"] and verdict["purged"] == done["checkpoint"]["count"] and verdict["checkpoints"] == 1
    with book.transaction() as s:
        s.execute(update(AuditCheckpoint).values(reason="nothing to see"))
    code, out, _ = cli(book, capsys, "audit", "verify")
    cp = done["checkpoint"]["id"]
    assert code == 1 and f"BROKEN at checkpoint {cp}" in out and "signature does not match" in out, out


def test_only_an_admin_purges_or_sets_a_period(book: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(book, capsys, "retention", "purge", "--before", "2020-01-01", "--user", "co1")
    assert code != 0 and "retention.purge" in err
    code, _, err = cli(
        book, capsys, "retention", "set", "orders", "--months", "120", "--reason", "r", "--user", "co1"
    )
    assert code != 0 and "retention.policy" in err
    code, out, err = cli(
        book,
        capsys,
        "retention",
        "set",
        "orders",
        "--months",
        "120",
        "--reason",
        "regulator",
        "--user",
        "ad1",
        "--json",
    )
    assert code == 0 and json.loads(out)["months"] == 120, err


def test_client_export_cli(book: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "export-u1"
    code, out, err = cli(
        book, capsys, "client", "export", "--client", "U1", "--out", str(out_dir), "--user", "co2", "--json"
    )
    assert code == 0, err
    manifest = json.loads(out)
    assert manifest["kind"] == "account" and manifest["accounts"] == ["U1"]
    assert (out_dir / "manifest.json").is_file() and len(manifest["manifest_sha256"]) == 64
    code, _, err = cli(
        book, capsys, "client", "export", "--client", "U1", "--out", str(out_dir), "--user", "co2"
    )
    assert code != 0 and "not an empty directory" in err
