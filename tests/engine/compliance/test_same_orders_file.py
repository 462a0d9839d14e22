"""`compliance check` and `orders import` read the same file the same way: the same columns, the
same refusals (non-finite or absurd numbers, unknown accounts and symbols), the same error lines."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access.users import create_user
from engine.compliance.tables import CheckResult
from engine.oms.tables import Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance
from engine.store.reference import Security
from tests.conftest import migrated
from tests.engine.oms.book import make_book
from workstation.cli.main import main

HEADER = "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"

BAD_ROWS = {
    "ACC1,AAPL,buy,nan,market,,day,SIM": ("quantity", "NaN"),
    "ACC1,AAPL,buy,inf,market,,day,SIM": ("quantity", "Infinity"),
    "ACC1,AAPL,buy,1e30,market,,day,SIM": ("quantity", "absurd"),
    "ACC1,AAPL,buy,1000000000000,market,,day,SIM": ("quantity", "too large"),
    "ACC1,AAPL,buy,10,limit,1000000000000,day,SIM": ("limit_price", "too large"),
    "ACC1,AAPL,sell,-5,market,,day,SIM": ("quantity", "negative"),
    "ACC1,AAPL,buy,10,limit,NaN,day,SIM": ("limit_price", "NaN limit"),
    "ACC1,AAPL,buy,10,market,12.5,day,SIM": ("limit_price", "limit on a market order"),
    "NOPE,AAPL,buy,10,market,,day,SIM": ("account", "unknown account"),
    "ACC1,ZZZZ,buy,10,market,,day,SIM": ("symbol", "unknown symbol"),
    "ACC1,AAPL,hold,10,market,,day,SIM": ("side", "bad side"),
    "ACC1,AAPL,buy,10,market,,forever,SIM": ("time_in_force", "bad tif"),
    "ACC1,AAPL,buy,10,market,,day,": ("broker", "no broker"),
}


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Database]:
    """The OMS test book, priced on 2026-10-30, with a trader who can import and check."""
    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = migrated(url)
    make_book(db)
    monkeypatch.setenv("WORKSTATION_PASSWORD", "trader password 1")
    with db.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "tr1", "Trader One", "trader", "trader password 1")
        for sec in s.scalars(select(Security)):
            s.add(
                PriceBar(
                    security_id=sec.id, date=date(2026, 10, 30), close=Decimal(100), volume=10**7, source="t"
                )
            )
        for q, r in (("USD", "1.08"), ("GBP", "0.87"), ("JPY", "165")):
            s.add(FxRate(base="EUR", quote=q, date=date(2026, 10, 30), rate=Decimal(r), source="t"))
        for a in s.scalars(select(Account)):
            s.add(CashBalance(account_id=a.id, currency="USD", settled=Decimal(10**7), unsettled=Decimal(0)))
    return url, db


def _run(url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(["--db", url, *argv])
    out, err = capsys.readouterr()
    return code, out, sorted(line for line in err.splitlines() if line.strip())


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Order)) or 0),
            int(s.scalar(select(func.count()).select_from(CheckResult)) or 0),
        )


def test_one_bad_file_gets_the_same_errors_from_both_commands(
    book: tuple[str, Database],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, db = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,AAPL,buy,100,market,,day,SIM\n" + "\n".join(BAD_ROWS) + "\n")
    check = _run(url, capsys, "compliance", "check", str(f), "--json")
    imported = _run(url, capsys, "orders", "import", str(f), "--user", "tr1", "--json")
    assert check[0] == imported[0] == 2 and check[1] == imported[1] == ""
    assert check[2] == imported[2]
    for row, (column, _why) in enumerate(BAD_ROWS.values(), start=3):
        assert any(f"row {row}, column {column}:" in line for line in check[2]), (row, column, check[2])
    assert not any("row 2," in line for line in check[2])  # the good row is fine
    assert any("'1000000000000' is too large (the limit is 100,000,000)" in line for line in check[2])
    assert _counts(db) == (0, 0)  # nothing written by either


@pytest.mark.parametrize(
    "header",
    [
        "account,symbol,side,quantity\n",  # the old short form: import needs every column
        HEADER.rstrip("\n") + ",ref\n",  # a column import does not know
    ],
    ids=["missing-columns", "unknown-column"],
)
def test_the_columns_are_the_same(
    book: tuple[str, Database],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
) -> None:
    url, _db = book
    f = tmp_path / "orders.csv"
    f.write_text(header)
    check = _run(url, capsys, "compliance", "check", str(f))
    imported = _run(url, capsys, "orders", "import", str(f), "--user", "tr1")
    assert check[0] == imported[0] == 2 and check[2] == imported[2] and check[2]
    assert any("row 1, column" in line for line in check[2])


def test_a_good_file_passes_both(
    book: tuple[str, Database],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, db = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "ACC1,AAPL,buy,100,market,,day,SIM\nACC2,AAPL,buy,50,limit,101.5,gtc,SIM\n")
    code, out, errors = _run(url, capsys, "compliance", "check", str(f), "--json")
    assert code == 0 and errors == []
    doc = json.loads(out)
    assert [(o["row"], o["account"], o["quantity"], o["limit_price"]) for o in doc["orders"]] == [
        (2, "ACC1", 100.0, None),
        (3, "ACC2", 50.0, 101.5),
    ]
    code, out, errors = _run(url, capsys, "orders", "import", str(f), "--user", "tr1", "--json")
    assert code == 0 and errors == [] and json.loads(out)["created"] == 2
    assert _counts(db)[0] == 2
