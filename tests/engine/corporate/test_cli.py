"""`workstation corporate ...`: the CLI contracts (exit codes, one line per problem, --json shapes)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from engine.access import users
from engine.store.database import Database
from tests.conftest import migrated
from tests.engine.accounting.book import build_small_book
from tests.engine.corporate.conftest import buy, lots
from workstation.cli.main import main

PW = "a long enough password"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    database = migrated(url)
    build_small_book(database)
    with database.transaction() as s:
        users.create_user(s, None, "boss", "Boss", "admin", PW)
        for name, role in (("ops1", "operations"), ("ops2", "operations"), ("tr1", "trader")):
            users.create_user(s, "boss", name, name, role, PW)
    buy(database, "A1", "XYZ", "101", "30", date(2025, 1, 6), "T1")
    database.dispose()
    monkeypatch.setenv("WORKSTATION_PASSWORD", PW)
    return url


def test_corporate_cli(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ref,kind,security,ex_date,ratio_new,ratio_old\nS1,split,XYZ,2026-03-02,3,2\nS2,split,NOPE,2026-03-02,2,1\n"
    )
    assert main(["--db", url, "corporate", "load", str(bad), "--user", "ops1"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: row 3, column security: no security 'NOPE' (symbol or ISIN)" in err
    assert "bad.csv: 1 problem(s); nothing was written" in err
    assert main(["--db", url, "corporate", "load", str(bad), "--user", "tr1"]) == 2
    assert "lacks permission 'corporate.load'" in capsys.readouterr().err

    good = tmp_path / "good.csv"
    good.write_text("ref,kind,security,ex_date,pay_date,ratio_new,ratio_old,lieu_price\n"
                    "S1,split,XYZ,2026-03-02,2026-03-09,3,2,24\n")  # fmt: skip
    assert main(["--db", url, "corporate", "load", str(good), "--user", "ops1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"source": "good.csv", "stored": ["S1"], "unchanged": []}

    assert main(["--db", url, "corporate", "add", "--kind", "rename", "--security", "XYZ", "--ex", "2026-03-03",
                 "--new-symbol", "XYZN", "--user", "ops1", "--json"]) == 0  # fmt: skip
    row = json.loads(capsys.readouterr().out)
    assert (row["ref"], row["status"], row["entered_by"]) == (
        "CA-XYZ-RENAME-20260303",
        "pending_approval",
        "ops1",
    )
    assert main(["--db", url, "corporate", "approve", row["ref"], "--user", "ops1"]) == 2
    assert (
        "ops1 entered corporate action CA-XYZ-RENAME-20260303 and cannot also approve it"
        in capsys.readouterr().err
    )
    assert main(["--db", url, "corporate", "list", "--pending", "--json"]) == 0
    assert [r["ref"] for r in json.loads(capsys.readouterr().out)] == [row["ref"]]
    assert main(["--db", url, "corporate", "approve", row["ref"], "--user", "ops2"]) == 0
    capsys.readouterr()

    assert main(["--db", url, "corporate", "book", "--as-of", "2026-03-03", "--user", "ops2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(b["ref"], b["kind"], b["accounts"], b["realized"], b["cash"]) for b in out["booked"]] == [
        ("S1", "split", 1, 1, {"USD": "12.00"}),
        ("CA-XYZ-RENAME-20260303", "rename", 0, 0, {}),
    ]
    assert main(["--db", url, "corporate", "book", "--as-of", "2026-03-03", "--user", "ops2"]) == 0
    assert "0 booked, 0 not booked, 0 awaiting approval" in capsys.readouterr().out
    assert main(["--db", url, "corporate", "list", "--security", "XYZN"]) == 0
    text = capsys.readouterr().out
    assert "S1" in text and "3 for 2" in text and "booked" in text
    database = Database(url)
    assert [(s, q) for s, _, q, _, _ in lots(database, "A1")] == [("XYZN", 151)]
    database.dispose()
