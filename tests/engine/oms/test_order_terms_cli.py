"""`orders import` and `compliance check` on files with the optional stop_price and expire_at columns:
the same error lines from both (row, column, reason), exit 2 and nothing written; a good file imports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.oms.tables import Order
from engine.store.database import Database
from tests.engine.compliance.test_same_orders_file import _counts, _run, book  # noqa: F401 (fixture)

HEADER = "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker,stop_price,expire_at\n"
BAD = {
    "ACC1,AAPL,buy,10,stop,,day,SIM,,": ("stop_price", "a stop order needs a positive stop price"),
    "ACC1,AAPL,buy,10,stop_limit,,day,SIM,5,": (
        "limit_price",
        "a stop_limit order needs a positive limit price",
    ),
    "ACC1,AAPL,buy,10,market,,day,SIM,-1,": ("stop_price", "is negative"),
    "ACC1,AAPL,buy,10,limit,9,gtd,SIM,,2020-01-02T00:00:00Z": ("expire_at", "is not in the future"),
    "ACC1,AAPL,buy,10,limit,9,gtd,SIM,,": ("expire_at", "a gtd order needs an expiry (expire_at)"),
    "ACC1,AAPL,buy,10,limit,9,day,SIM,,2030-01-02T00:00:00Z": ("expire_at", "only a gtd order has an expiry"),
}


def test_bad_terms_get_the_same_lines_from_both_commands(
    book: tuple[str, Database],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, db = book
    f = tmp_path / "orders.csv"
    f.write_text(HEADER + "\n".join(BAD) + "\n")
    check = _run(url, capsys, "compliance", "check", str(f), "--json")
    imported = _run(url, capsys, "orders", "import", str(f), "--user", "tr1", "--json")
    assert check[0] == imported[0] == 2 and check[1] == imported[1] == ""
    assert check[2] == imported[2] and len(check[2]) == len(BAD) + 1  # and the summary line
    for row, (column, why) in enumerate(BAD.values(), start=2):
        assert any(f"orders.csv: row {row}, column {column}:" in x and why in x for x in check[2]), (
            row,
            check[2],
        )
    assert _counts(db) == (0, 0)


def test_a_file_with_stops_and_gtd_imports(
    book: tuple[str, Database],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, db = book
    f = tmp_path / "orders.csv"
    f.write_text(
        HEADER + "ACC1,AAPL,buy,100,stop,,gtc,SIM,101,\n"
        "ACC2,AAPL,sell,50,limit,99,gtd,SIM,,2030-01-02T21:00:00Z\nACC3,AAPL,buy,10,market,,ioc,SIM,,\n"
    )
    code, _out, errors = _run(url, capsys, "compliance", "check", str(f), "--json")
    assert code == 0 and errors == []
    code, out, errors = _run(url, capsys, "orders", "import", str(f), "--user", "tr1", "--json")
    assert code == 0 and errors == [] and json.loads(out)["created"] == 3
    with db.session() as s:
        got = s.execute(
            select(Order.order_type, Order.time_in_force, Order.stop_price).order_by(Order.id)
        ).all()
    assert [tuple(r) for r in got] == [
        ("stop", "gtc", Decimal(101)),
        ("limit", "gtd", None),
        ("market", "ioc", None),
    ]
