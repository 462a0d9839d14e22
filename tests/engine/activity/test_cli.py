"""`workstation activity load/list`: the --json shapes (a contract, docs/cli.md), a signed-in user
with activity.load, "already loaded" on the identical file, and one line per problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.activity.tables import ActivityLine
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import codes_at_the_prompt
from tests.engine.activity.helpers import csv_file
from tests.engine.activity.test_booking import DAY
from tests.engine.reconcile.minibook import CUST, PASSWORD, build, give_passwords
from workstation.cli.main import main


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, str]]:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    database = migrated(url)
    build(database)
    give_passwords(database, "olivia.ops", "tara.trader")
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    codes_at_the_prompt(monkeypatch, database, "olivia.ops")
    yield database, url
    database.dispose()


def _lines(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ActivityLine)) or 0)


def test_load_and_list_json(
    book: tuple[Database, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = book
    f = csv_file(tmp_path / "day.csv", DAY)
    load = ["--db", url, "activity", "load", str(f), "--custodian", CUST, "--user", "olivia.ops", "--json"]
    assert main(load) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["custodian"] == CUST and len(out["files"]) == 1
    first = out["files"][0]
    assert set(first) == {"file", "file_id", "custodian", "format", "sha256", "already_loaded", "lines", "booked",
                          "skipped", "counts"}  # fmt: skip
    assert (first["file"], first["format"], first["already_loaded"], first["lines"], first["booked"]) == (
        "day.csv",
        "generic-csv",
        False,
        8,
        8,
    )
    assert first["counts"]["dividend"] == 1 and sum(first["counts"].values()) == 8
    assert main(load) == 0
    again = json.loads(capsys.readouterr().out)["files"][0]
    assert again["already_loaded"] is True and again["file_id"] == first["file_id"] and _lines(db) == 8
    assert main(load[:-1]) == 0
    assert "day.csv: already loaded (unchanged)" in capsys.readouterr().out

    assert (
        main(["--db", url, "activity", "list", "--account", "A000001", "--kind", "dividend", "--json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    div = rows[0]
    assert (div["reference"], div["kind"], div["external"], div["security"], div["currency"]) == (
        "D1",
        "dividend",
        False,
        "AAA",
        "USD",
    )
    assert (div["gross"], div["withholding"], div["amount"], div["trade_date"]) == (
        24.0,
        3.6,
        20.4,
        "2026-11-02",
    )
    assert {"id", "custodian", "file", "row", "account", "settle_date", "quantity", "price", "commission",
            "counter_currency", "counter_amount", "booking_id", "detail"} <= set(div)  # fmt: skip
    assert (
        main(["--db", url, "activity", "list", "--from", "2026-11-03", "--to", "2026-11-03", "--json"]) == 0
    )
    assert [r["reference"] for r in json.loads(capsys.readouterr().out)] == ["S1"]
    assert main(["--db", url, "activity", "list", "--account", "A000002"]) == 0
    assert "transfer_out" in capsys.readouterr().out


def test_refused_file_and_denied_user_change_nothing(
    book: tuple[Database, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = book
    bad = csv_file(tmp_path / "bad.csv", [DAY[2], dict(DAY[0], gross="30.00")])
    assert main(["--db", url, "activity", "load", str(bad), "--custodian", CUST, "--user", "olivia.ops"]) == 2
    err = capsys.readouterr().err
    assert (
        "bad.csv: row 3, column amount: gross 30.00 less withholding 3.60 is 26.40, not the net 20.40" in err
    )
    assert "nothing was written" in err and _lines(db) == 0
    good = csv_file(tmp_path / "good.csv", DAY[2:3])
    assert (
        main(["--db", url, "activity", "load", str(good), "--custodian", CUST, "--user", "tara.trader"]) == 2
    )
    assert "activity.load" in capsys.readouterr().err and _lines(db) == 0
    with db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "permission.denied")).all()
        assert [(e.username, e.entity_id) for e in denied] == [("tara.trader", "activity.load")]
