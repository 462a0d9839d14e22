"""Statements of a demo book: their returns are `report performance`'s for the same ranges, their end
values the rebuilt history's; stored daily values are read when the day cycle kept them; the CLI
writes byte-identical files from worker processes, audits the run and skips an empty account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import resources
from engine.daycycle.tables import AccountDailyValue, DayRun
from engine.demo.build import build_demo_book
from engine.reports.performance import performance_report
from engine.state.daycycle import CLOSED
from engine.statements.build import build_batch
from engine.statements.period import parse_period
from engine.statements.tables import StatementRecord
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.accounting.book import account_row
from workstation.cli.main import main

Q3 = parse_period("2026Q3")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    from tests.conftest import migrated

    url = f"sqlite:///{tmp_path_factory.mktemp('stmt') / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=4, seed=7, today=date(2026, 11, 22))
    with database.transaction() as s:
        hh = s.scalars(select(Household).order_by(Household.code.desc())).first()
        assert hh is not None
        s.add(account_row("EMPTY", hh.id))  # no lots, no cash, no activity
    yield database, url
    database.dispose()


def _ids(s: object) -> list[int]:
    return list(s.scalars(select(Account.id).where(Account.code != "EMPTY").order_by(Account.code)))  # type: ignore[attr-defined]


def test_returns_are_report_performance_and_values_the_history(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        ids = _ids(s)
        docs = build_batch(s, ids, Q3)
        currencies = set()
        for aid, doc in zip(ids, docs):
            currencies.add(doc["base_currency"])
            assert doc["performance"]["source"] == "reconstructed"
            windows = {w["window"]: w for w in doc["performance"]["windows"]}
            assert set(windows) >= {"quarter", "ytd", "1y"}
            for w in (windows["quarter"], windows["1y"]):  # (ytd is the same code on another slice)
                start = date.fromisoformat(w["from"])
                (row,) = performance_report(s, [aid], start, Q3.last)["rows"]
                assert w["net"] == pytest.approx(row["twr"], abs=5e-7), (doc["account"], w["window"])
                assert w["benchmark"] == pytest.approx(row["benchmark_return"], abs=5e-7)
                assert w["gross"] == pytest.approx(w["net"], abs=1e-12)  # the demo books no fees
            (q,) = performance_report(s, [aid], date.fromisoformat(windows["quarter"]["from"]), Q3.last)[
                "rows"
            ]
            # Holdings at 30 September (lots, sales since, splits, cash ledger: engine.statements.holdings)
            # against the rebuilt daily history's value that day (engine.reports.history).
            assert doc["totals"]["total_base"] == pytest.approx(q["end_value"], abs=0.011)
            assert doc["activity"]["start_value"] == pytest.approx(q["start_value"], abs=0.006)
            assert sum(p["weight"] for p in doc["positions"]) + sum(c["weight"] for c in doc["cash"]) == (
                pytest.approx(1.0, abs=1e-9)
            )
            assert sum(Decimal(str(x["value_base"])) for x in doc["allocation"]) == Decimal(
                str(doc["totals"]["total_base"])
            )
        assert len(currencies) > 1


def test_stored_daily_values_are_read_when_the_day_cycle_kept_them(demo: tuple[Database, str]) -> None:
    """Closed days from 30 June to 30 September with stored values (and a fee): the statement reads
    them, not the ledger: its quarter return is the stored values' own, worked out here."""
    db, _ = demo
    with db.session() as s:
        aid = _ids(s)[0]
        (rebuilt,) = build_batch(s, [aid], Q3)
        days = [date(2026, 6, 30), date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30)]
        values = [Decimal("1000000"), Decimal("1010000"), Decimal("1030000"), Decimal("1020000")]
        flows = [Decimal(0), Decimal("5000"), Decimal(0), Decimal("-2000")]
        fees = [Decimal(0), Decimal(0), Decimal("-1500"), Decimal(0)]
        for d, v, f, fee in zip(days, values, flows, fees):
            s.add(DayRun(day=d, status=CLOSED, run_by="test"))
            s.add(AccountDailyValue(
                account_id=aid, day=d, base_currency=rebuilt["base_currency"], market_value=v, cash=Decimal(0),
                value=v, flows=f, cash_flows=f, transfers=Decimal(0), income=Decimal(0), fees=fee,
            ))  # fmt: skip
        s.flush()
        (doc,) = build_batch(s, [aid], Q3)
        s.rollback()
    w = {x["window"]: x for x in doc["performance"]["windows"]}
    assert doc["performance"]["source"] == "daily_values"
    net = (1010000 - 5000) / 1000000 * 1030000 / 1010000 * (1020000 + 2000) / 1030000 - 1
    gross = (1010000 - 5000) / 1000000 * (1030000 + 1500) / 1010000 * (1020000 + 2000) / 1030000 - 1
    assert w["quarter"]["net"] == pytest.approx(net, abs=1e-12)
    assert w["quarter"]["gross"] == pytest.approx(gross, abs=1e-12)
    assert w["1y"]["net"] is None and "reach back" in w["1y"]["note"]
    assert w["inception"]["from"] == "2026-06-30"
    assert doc["activity"]["start_value"] == 1000000.0 and doc["activity"]["net_flows"] == 3000.0


def test_cli_bulk_in_workers_is_deterministic_audited_and_skips_empty(
    demo: tuple[Database, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = demo
    base = ["--db", url, "statements", "--period", "2026Q3", "--all", "--user", "olga.ops", "--json"]
    assert main([*base, "--out", str(tmp_path / "a"), "--workers", "2", "--batch", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == "statements" and doc["period"] == "2026Q3" and doc["accounts"] == 5
    assert doc["skipped"] == [
        {"kind": "account", "account": "EMPTY", "base_currency": "USD",
         "skipped": "no holdings at the end of the period and no activity in it"}
    ]  # fmt: skip
    files = {s["file"]: s["sha256"] for s in doc["statements"]}
    assert {f for f in files if "-A" in f} == {f"2026Q3-A00000{i}.pdf" for i in range(1, 5)}
    assert doc["written"] == len(files) and all((tmp_path / "a" / f).exists() for f in files)
    assert main([*base, "--out", str(tmp_path / "b"), "--workers", "1"]) == 0
    again = {s["file"]: s["sha256"] for s in json.loads(capsys.readouterr().out)["statements"]}
    assert again == files  # the same book gives the same bytes, in worker processes or not
    manifest = json.loads((tmp_path / "a" / "2026Q3-manifest.json").read_text())
    assert manifest["generated_by"] == "olga.ops" and manifest["written"] == doc["written"]
    with db.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "statements.generate")).all()
        records = s.scalars(select(StatementRecord).order_by(StatementRecord.id)).all()
    assert len(entries) == 2 and all(e.username == "olga.ops" for e in entries)
    # A client_statements row per file of each run (retention kind `statements`), with its hash.
    assert len(records) == 2 * len(files) and {r.file: r.sha256 for r in records} == files
    assert all(r.period_end == date(2026, 9, 30) and r.generated_by == "olga.ops" for r in records)
    assert all((r.account_id is None) != (r.household_id is None) for r in records)
    assert main(["--db", url, "statements", "--period", "2026Q5", "--all", "--out", str(tmp_path / "c"),
                 "--user", "olga.ops"]) == 2  # fmt: skip
    assert "expected a quarter such as 2026Q3" in capsys.readouterr().err
    assert main(["--db", url, "statements", "--period", "2026Q3", "--all", "--out", str(tmp_path / "c"),
                 "--user", "tara.trader"]) != 0  # fmt: skip
    assert "statements.generate" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
