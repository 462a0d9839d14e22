"""`workstation report tca`: the contract (--json shape, --csv and --xlsx files, the text table,
a denial for a user without tca.read) on the stored day of tests/engine/tca/book.py."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.access import users
from tests.conftest import migrated
from tests.engine.tca.book import build
from workstation.cli.main import main

PW = "a long enough password"


def test_report_tca_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    database = migrated(url)
    build(database)
    with database.transaction() as s:
        users.create_user(s, None, "boss", "Boss", "admin", PW)
        users.create_user(s, "boss", "tr9", "Trader", "trader", PW)  # compliance signs in with MFA
        users.create_user(s, "boss", "pm1", "PM", "portfolio_manager", PW)
    database.dispose()
    monkeypatch.setenv("WORKSTATION_PASSWORD", PW)
    args = ["--db", url, "report", "tca", "--from", "2026-11-23", "--to", "2026-11-23"]

    assert main([*args, "--user", "pm1", "--json"]) == 2  # no tca.read: refused, nothing printed
    err = capsys.readouterr()
    assert err.out == "" and "tca.read" in err.err

    assert main([*args, "--user", "tr9", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"from", "to", "currency", "market", "orders", "by_broker", "by_trader", "total"}
    assert [r["cl_ord_id"] for r in doc["orders"]] == ["O1", "O2", "O5"]
    assert doc["total"]["shortfall_bps"] == 59.35 and "SIMULATED" in doc["market"]

    assert main([*args, "--user", "tr9", "--broker", "SIM"]) == 0
    text = capsys.readouterr().out
    assert "SIM" in text and "+40.00" in text and "BRK2" not in text

    out = tmp_path / "tca.csv"
    assert main([*args, "--user", "tr9", "--csv", str(out)]) == 0
    capsys.readouterr()
    orders = pd.read_csv(out)
    assert list(orders["cl_ord_id"]) == ["O1", "O2", "O5"] and list(orders["shortfall_bps"][:2]) == [
        40.0,
        64.0,
    ]
    assert list(pd.read_csv(tmp_path / "tca.by_broker.csv")["broker"]) == ["BRK2", "SIM"]
    assert list(pd.read_csv(tmp_path / "tca.by_trader.csv")["trader"]) == ["tr1", "tr2"]

    book = tmp_path / "tca.xlsx"
    assert main([*args, "--user", "tr9", "--xlsx", str(book)]) == 0
    sheets = pd.read_excel(book, sheet_name=None)
    assert list(sheets) == ["orders", "by_broker", "by_trader", "total", "about"]
    assert float(sheets["total"]["shortfall"][0]) == 920.0
