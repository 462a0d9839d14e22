"""The CLI contracts: `compliance rules --json`, `compliance check FILE.csv --json`,
`audit verify`, and a signed-in change (users, kill switch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from engine.access.login import hash_password
from engine.compliance.tables import CheckResult
from engine.store.database import Database
from engine.store.people import AuditEntry, User
from tests.engine.access.mfa_helpers import code_now, give_second_factor
from workstation.cli.main import main

ORDERS = """account,symbol,side,quantity,order_type,limit_price,time_in_force,broker
U1,AAA,sell,10,market,,day,SIM
U1,BBB,buy,10,limit,50.5,day,SIM

G1,CCC,buy,5,market,,gtc,SIM
"""


def run(capsys: pytest.CaptureFixture[str], db: Database, *argv: str) -> tuple[int, str, str]:
    code = main(["--db", db.url.render_as_string(hide_password=False), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _count(db: Database, table: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_rules_json_lists_the_rules_in_force(minibook: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, minibook, "compliance", "rules", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["as_of"] == "2026-10-30" and len(doc["rules"]) == 23
    sec = next(r for r in doc["rules"] if r["code"] == "SEC-WEIGHT")
    assert sec["template"] == "security_weight_max" and sec["severity"] == "soft" and sec["on_fail"] == "flag"
    assert sec["params"] == {"max_weight": 0.1} and sec["assigned_to"] == [{"scope": "firm", "key": None}]
    assert sec["version"] == 1 and sec["effective_from"] == "2000-01-01"


def test_check_json_gives_each_order_its_outcome_and_every_rule_with_numbers(
    minibook: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS)
    before = (_count(minibook, CheckResult), _count(minibook, AuditEntry))
    code, out, _ = run(capsys, minibook, "compliance", "check", str(f), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["summary"] == {"orders": 3, "pass": 1, "warn": 0, "flag": 0, "block": 2}
    rows = {o["row"]: o for o in doc["orders"]}
    assert sorted(rows) == [2, 3, 5]  # spreadsheet rows; the blank line is skipped
    assert rows[2]["outcome"] == "pass" and len(rows[2]["results"]) == 23
    bbb = rows[3]
    assert bbb["outcome"] == "block" and bbb["limit_price"] == 50.5 and bbb["order_type"] == "limit"
    esg = next(r for r in bbb["results"] if r["rule"] == "ESG-SCREEN")
    assert esg["outcome"] == "block" and "fossil_fuels" in esg["message"] and "505.00 USD" in esg["message"]
    ff = next(r for r in bbb["results"] if r["rule"] == "FAT-FINGER")
    assert (
        ff["outcome"] == "pass"
        and ff["limit"] == 0.1
        and ff["before"] == 50
        and ff["after"] == pytest.approx(0.01)
    )
    kyc = next(r for r in rows[5]["results"] if r["rule"] == "KYC")
    assert kyc["outcome"] == "block" and "expired" in kyc["message"]
    assert set(esg) == {
        "rule",
        "version",
        "template",
        "severity",
        "outcome",
        "limit",
        "before",
        "after",
        "unit",
        "message",
    }
    # Nothing was written.
    assert (_count(minibook, CheckResult), _count(minibook, AuditEntry)) == before


def test_check_names_the_row_of_unknown_accounts_and_symbols(
    minibook: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"
        "U1,AAA,buy,1,market,,day,SIM\nNOPE,AAA,buy,1,market,,day,SIM\nU1,ZZZ,hold,-3,market,,day,SIM\n"
    )
    code, out, err = run(capsys, minibook, "compliance", "check", str(f), "--json")
    assert code == 2 and out == ""
    assert "row 3, column account: unknown account 'NOPE'" in err
    assert "row 4, column symbol: unknown symbol 'ZZZ'" in err
    assert "row 4, column side" in err and "row 4, column quantity" in err


def test_text_check_prints_the_non_passing_sentences(
    minibook: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(ORDERS)
    code, out, _ = run(capsys, minibook, "compliance", "check", str(f))
    assert code == 0 and "row 3: BLOCK U1 buy 10 BBB limit 50.5" in out and "ESG-SCREEN" in out


def test_audit_verify_cli_and_signed_in_changes(
    book_db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSTATION_NEW_PASSWORD", "admin password 1")
    # The mini book has users: its first admin is no longer free for anyone to create.
    code, _, err = run(capsys, book_db, "users", "add", "root", "--role", "admin")
    assert code == 2 and "book with no users" in err
    with book_db.transaction() as s:
        s.add(
            User(
                username="root",
                display_name="Root",
                role="admin",
                password_hash=hash_password("admin password 1"),
            )
        )
    monkeypatch.setenv("WORKSTATION_PASSWORD", "admin password 1")
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book_db, "root", give_second_factor(book_db, "root")))
    monkeypatch.setenv("WORKSTATION_NEW_PASSWORD", "compliance pw 1")
    assert run(capsys, book_db, "users", "add", "cora", "--role", "compliance", "--user", "root")[0] == 0
    monkeypatch.setenv("WORKSTATION_PASSWORD", "compliance pw 1")
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book_db, "cora", give_second_factor(book_db, "cora")))
    code, out, _ = run(
        capsys,
        book_db,
        "compliance",
        "kill",
        "engage",
        "account",
        "U1",
        "--reason",
        "test halt",
        "--user",
        "cora",
    )
    assert code == 0 and "routing stopped for account U1" in out
    code, out, _ = run(capsys, book_db, "compliance", "kill", "status", "--json")
    assert [(k["scope"], k["key"]) for k in json.loads(out)["switches"]] == [("account", "U1")]
    # A wrong password is refused (and audited); nothing changes.
    monkeypatch.setenv("WORKSTATION_PASSWORD", "wrong")
    code, _, err = run(
        capsys, book_db, "compliance", "kill", "engage", "firm", "--reason", "x", "--user", "cora"
    )
    assert code == 2 and "wrong user name or password" in err
    code, out, _ = run(capsys, book_db, "audit", "verify", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["entries"] >= 5
    with book_db.transaction() as s:
        victim = s.scalar(select(AuditEntry.id).where(AuditEntry.action == "killswitch.engage"))
        s.execute(update(AuditEntry).where(AuditEntry.id == victim).values(reason="nothing happened"))
    code, out, _ = run(capsys, book_db, "audit", "verify")
    assert code == 1 and f"BROKEN at entry {victim}" in out


def test_kill_engage_trader_option(
    book_db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--trader NAME` is the trader scope beside the positional scopes (sign-in stubbed to co1; the
    engine still checks killswitch.use); a clash with another scope is one error line, exit 2."""
    import workstation.cli.compliance as cli

    monkeypatch.setattr(cli, "sign_in", lambda _db, _user: "co1")
    code, out, _ = run(
        capsys, book_db, "compliance", "kill", "engage", "--trader", "tr1", "--reason", "fat finger",
        "--user", "co1",
    )  # fmt: skip
    assert code == 0 and "routing stopped for orders entered by trader tr1" in out
    code, _, err = run(
        capsys, book_db, "compliance", "kill", "engage", "desk", "--trader", "tr1", "--reason", "x",
        "--user", "co1",
    )  # fmt: skip
    assert code == 2 and "--trader NAME is the trader scope" in err
    code, out, _ = run(capsys, book_db, "compliance", "kill", "engage", "trader", "pm1", "--reason", "y",
                       "--user", "co1")  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, book_db, "compliance", "kill", "status", "--json")
    assert [(k["scope"], k["key"]) for k in json.loads(out)["switches"]] == [
        ("trader", "tr1"),
        ("trader", "pm1"),
    ]
