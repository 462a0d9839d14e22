"""A statement of part of a custodian's book reconciles the accounts it lists; every other account
of that custodian the book holds something in is one "no statement" exception (never one break
per position), its older breaks are neither found again nor cleared, and the exception clears
once a statement covers the account again. A full statement reports no such account."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

import resources
from connectors.custodian.load import load_files
from engine.demo.build import build_demo_book
from engine.demo.custodian_files import write_custodian_files
from engine.reconcile.coverage import NO_STATEMENT
from engine.reconcile.run import reconcile
from engine.reconcile.tables import Break
from engine.state.breaks import OPEN, RESOLVED
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import codes_at_the_prompt
from tests.engine.reconcile.minibook import PASSWORD, give_passwords
from workstation.cli.main import main

AS_OF = date(2026, 10, 30)
OPS = "ada.admin"
CUST = "SIM-CUSTODIAN-A"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path, str]]:
    d = tmp_path_factory.mktemp("partial")
    url = f"sqlite:///{d / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=60, seed=11, today=date(2026, 11, 22))
    out = d / "files"
    write_custodian_files(database, out, seed=5, breaks=0.0)
    yield database, out, url
    database.dispose()


def _one_account(src: Path, dst: Path, account: str) -> int:
    """Copy a generic CSV keeping only one account's lines; returns how many lines it kept."""
    with src.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    kept = [r for r in rows[1:] if r[1] == account]
    with dst.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([rows[0], *kept])
    return len(kept)


def _accounts(database: Database) -> list[str]:
    with database.session() as s:
        return list(s.scalars(select(Account.code).where(Account.custodian == CUST).order_by(Account.code)))


def test_one_account_statement_reconciles_that_account_and_lists_the_others_once(
    files: tuple[Database, Path, str], tmp_path: Path
) -> None:
    database, out, _ = files
    accounts = _accounts(database)
    assert len(accounts) >= 10
    mine = accounts[3]
    pos, cash = tmp_path / "a_positions.csv", tmp_path / "a_cash.csv"
    assert _one_account(out / "sim-custodian-a_positions.csv", pos, mine) > 5
    assert _one_account(out / "sim-custodian-a_cash.csv", cash, mine) >= 1
    # The custodian says 7 more of the first line's security than the book: one real break.
    rows = list(csv.reader(pos.open(encoding="utf-8")))
    rows[1][4] = str(float(rows[1][4]) + 7)
    rows[1][6] = ""
    with pos.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    load_files(database, [pos, cash], CUST, loaded_by=OPS)
    with database.transaction() as s:
        result = reconcile(s, AS_OF, run_by=OPS)
    # Lines and breaks only for the one account.
    assert set(result.results["account_code"]) == {mine}
    assert len(result.results) >= len(rows) - 1
    b = result.breaks[result.breaks["outcome"] == "break"]  # explained lines (staged actions) aside
    assert list(b["break_type"]) == ["quantity"] and list(b["difference"]) == [pytest.approx(7.0)]
    # Every other account of the custodian once, as no statement (none of them with a position break).
    ns = result.no_statement
    assert sorted(ns["account_code"]) == [a for a in accounts if a != mine]
    assert ns["account_code"].is_unique
    assert (ns["missing"].map(tuple) == ("positions", "cash")).all()
    assert (ns["positions"] > 0).all()
    assert ns["explanation"].str.startswith(f"no positions or cash statement from {CUST} for {AS_OF}").all()
    with database.session() as s:
        stored = list(s.scalars(select(Break).where(Break.break_type == NO_STATEMENT)))
        assert sorted(x.account_code for x in stored) == sorted(ns["account_code"])
        assert {x.status for x in stored} == {OPEN} and sorted(x.id for x in stored) == sorted(ns["break_id"])
        assert not s.scalars(
            select(Break).where(Break.account_code != mine, Break.break_type != NO_STATEMENT)
        ).all()
        opened = s.scalars(select(AuditEntry).where(AuditEntry.action == "reconcile.break.open")).all()
        assert len(opened) == len(ns) + len(result.breaks)
        run = s.scalars(select(AuditEntry).where(AuditEntry.action == "reconcile.run")).all()[-1]
        assert run.after["breaks"] == len(result.breaks) and sorted(run.after["no_statement"]) == sorted(
            ns["account_code"]
        )

    # The next day the custodian sends another account only: the first account's quantity break
    # is neither found again nor cleared (nothing was compared), and it becomes "no statement".
    other = accounts[5]
    day2 = date(2026, 11, 2)
    for src, dst in (("positions", "b_positions.csv"), ("cash", "b_cash.csv")):
        _one_account(out / f"sim-custodian-a_{src}.csv", tmp_path / dst, other)
        text = (tmp_path / dst).read_text(encoding="utf-8").replace(str(AS_OF), str(day2))
        (tmp_path / dst).write_text(text, encoding="utf-8")
    load_files(database, [tmp_path / "b_positions.csv", tmp_path / "b_cash.csv"], CUST, loaded_by=OPS)
    with database.transaction() as s:
        r2 = reconcile(s, day2, run_by=OPS)
    assert mine in set(r2.no_statement["account_code"]) and other not in set(r2.no_statement["account_code"])
    with database.session() as s:
        qty = s.scalars(select(Break).where(Break.break_type == "quantity")).one()
        assert (qty.status, qty.last_seen) == (OPEN, AS_OF)
        # The other account is covered now: its "no statement" is cleared through the machine.
        gone = s.scalars(
            select(Break).where(Break.account_code == other, Break.break_type == NO_STATEMENT)
        ).one()
        assert gone.status == RESOLVED
        kept = s.scalars(
            select(Break).where(Break.account_code == mine, Break.break_type == NO_STATEMENT)
        ).one()
        assert (kept.status, kept.opened_on) == (OPEN, day2)
        assert s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "reconcile.break.clear", AuditEntry.entity_id == str(gone.id)
            )
        ).one()


def test_cli_json_lists_no_statement_accounts_and_a_full_statement_lists_none(
    files: tuple[Database, Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, out, url = files
    give_passwords(database, OPS)
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    codes_at_the_prompt(monkeypatch, database, OPS)  # an admin signs in with a second factor
    day = date(2026, 11, 3)
    for name in ("sim-custodian-a_positions.csv", "sim-custodian-a_cash.csv"):
        text = (out / name).read_text(encoding="utf-8").replace(str(AS_OF), str(day))
        (out / f"full-{name}").write_text(text, encoding="utf-8")
    full = [out / "full-sim-custodian-a_positions.csv", out / "full-sim-custodian-a_cash.csv"]
    load_files(database, full, CUST, loaded_by=OPS)
    assert main(["--db", url, "reconcile", "run", "--as-of", str(day), "--user", OPS, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # The full statement: every account compared, none left out; the documented keys are all there.
    assert doc["no_statement"] == []
    assert {"as_of", "lines", "matched", "explained", "open", "breaks", "summary"} <= set(doc)
    assert doc["lines"] == doc["matched"] + doc["explained"] + doc["open"]
    with database.session() as s:
        assert not s.scalars(
            select(Break).where(
                Break.break_type == NO_STATEMENT, Break.status == OPEN, Break.last_seen == day
            )
        ).all()
    # One account's file a day later: the others are in `no_statement`, one entry each.
    day = date(2026, 11, 4)
    mine = _accounts(database)[0]
    part = out / "part-a_positions.csv"
    _one_account(out / "sim-custodian-a_positions.csv", part, mine)
    part.write_text(part.read_text(encoding="utf-8").replace(str(AS_OF), str(day)), encoding="utf-8")
    load_files(database, [part], CUST, loaded_by=OPS)
    assert main(["--db", url, "reconcile", "run", "--as-of", str(day), "--user", OPS, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    listed = doc["no_statement"]
    assert sorted(x["account"] for x in listed) == [a for a in _accounts(database) if a != mine]
    first = listed[0]
    assert set(first) == {"id", "custodian", "account", "missing", "positions", "currencies", "explanation"}
    assert first["missing"] == ["positions"] and first["custodian"] == CUST and first["positions"] > 0
    assert isinstance(first["id"], int)
    assert {b["account"] for b in doc["breaks"]} <= {mine}
    # They are breaks like the others: listed by type and shown one by one.
    assert (
        main(["--db", url, "reconcile", "breaks", "--type", NO_STATEMENT, "--status", "open", "--json"]) == 0
    )
    assert {x["id"] for x in json.loads(capsys.readouterr().out)} == {x["id"] for x in listed}
    assert main(["--db", url, "reconcile", "show", str(first["id"]), "--json"]) == 0
    assert CUST in capsys.readouterr().out
    # The text output names them too.
    assert main(["--db", url, "reconcile", "run", "--as-of", str(day), "--user", OPS]) == 0
    assert f"no statement: {len(listed)} account(s) of {CUST}" in capsys.readouterr().out
