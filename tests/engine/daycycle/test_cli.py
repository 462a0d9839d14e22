"""`workstation day close|status`: the --json contract, progress on stderr, sign-in, and
`report performance --json` saying where its numbers came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.store.database import Database
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import codes_at_the_prompt
from tests.engine.daycycle.test_day_cycle import D1, D2, drop_day
from tests.engine.reconcile.minibook import OPS, PASSWORD, build, give_passwords
from workstation.cli.main import main

STEP_NAMES = ["load", "corporate_actions", "settle", "revalue", "daily_values", "reconcile", "drift"]


def test_day_close_and_status_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    database: Database = migrated(url)
    build(database)
    give_passwords(database, OPS, "tara.trader")
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    codes_at_the_prompt(monkeypatch, database, OPS)
    inbox = tmp_path / "inbox"
    drop_day(inbox, D1)
    capsys.readouterr()
    assert (
        main(["--db", url, "day", "close", "--date", str(D1), "--user", OPS, "--inbox", str(inbox), "--json"])
        == 0
    )
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["date"] == D1.isoformat() and doc["status"] == "closed"
    assert [s["name"] for s in doc["steps"]] == STEP_NAMES
    assert all(set(s) >= {"name", "status", "counts", "exceptions"} for s in doc["steps"])
    assert [ln for ln in out.err.splitlines() if ln.startswith(f"{D1} 1/7 load: done")]
    drop_day(inbox, D2)
    assert main(["--db", url, "day", "close", "--date", str(D2), "--user", OPS, "--inbox", str(inbox)]) == 0
    capsys.readouterr()
    assert main(["--db", url, "day", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["date"] == D2.isoformat() and status["status"] == "closed"
    assert (
        main(["--db", url, "report", "performance", "--all", "--from", str(D1), "--to", str(D2), "--json"])
        == 0
    )
    perf = json.loads(capsys.readouterr().out)
    assert {r["source"] for r in perf["rows"]} == {"daily_values"}
    # A trader may not close a day: one error line, exit 2, nothing run.
    assert (
        main(
            [
                "--db",
                url,
                "day",
                "close",
                "--date",
                "2026-11-04",
                "--user",
                "tara.trader",
                "--inbox",
                str(inbox),
            ]
        )
        == 2
    )
    assert "day.close" in capsys.readouterr().err
    assert main(["--db", url, "day", "status", "--date", "2026-11-04", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "none"
    database.dispose()
