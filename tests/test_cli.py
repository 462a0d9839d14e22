"""The command line: help lists the commands; demo and db info print documented JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keyring
import pytest

from connectors.credentials import database_service
from tests.connectors.memory_keyring import MemoryKeyringForTests
from workstation.cli.main import main


def test_help_lists_the_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "workstation.cli.main", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("demo", "db", "import"):
        assert f"    {command}" in out.stdout


def test_db_upgrade_then_info_json(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", sqlite_url, "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--db", sqlite_url, "db", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["url"] == sqlite_url and info["dialect"] == "sqlite"
    assert info["up_to_date"] is True and info["revision"]
    assert info["tables"]["accounts"] == 0 and "tax_lots" in info["tables"]


@pytest.mark.postgres
def test_db_upgrade_takes_the_password_from_the_keychain_and_info_masks_it(
    pg_schema_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backend, previous = MemoryKeyringForTests(), keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        backend.set_password(database_service(pg_schema_url), "postgres", "s3cret")  # trust auth ignores it
        assert main(["--db", pg_schema_url, "db", "upgrade"]) == 0
        assert main(["--db", pg_schema_url, "db", "info", "--json"]) == 0
        out = capsys.readouterr().out
        assert "s3cret" not in out
        info = json.loads(out[out.index("{") :])
        assert "***" in info["url"] and info["dialect"] == "postgresql" and info["up_to_date"] is True
        inline = pg_schema_url.replace("postgres@", "postgres:s3cret@")
        assert main(["--db", inline, "db", "info", "--json"]) == 2
        err = capsys.readouterr().err
        assert "contains a password" in err and "s3cret" not in err
    finally:
        keyring.set_keyring(previous)


def test_demo_builds_then_reuses_the_same_book(
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    assert (
        main(
            ["--db", sqlite_url, "demo", "--accounts", "12", "--seed", "9", "--history-years", "0", "--json"]
        )
        == 0
    )
    first = json.loads(capsys.readouterr().out)
    assert first["kind"] == "simulated-demo" and first["counts"]["accounts"] == 12
    assert first["built_seconds"] is not None
    assert first["history"] is None  # --history-years 0: today's book only
    assert first["counts"]["exchanges"] >= 8 and first["counts"]["currencies"] >= 7
    assert (
        main(
            ["--db", sqlite_url, "demo", "--accounts", "12", "--seed", "9", "--history-years", "0", "--json"]
        )
        == 0
    )
    second = json.loads(capsys.readouterr().out)
    assert second["built_seconds"] is None  # already there: not rebuilt
    assert second["firm_aum_usd"] == first["firm_aum_usd"]
    # `report drift` is the same command as `rebalance drift` (issue 4's documented alias).
    assert main(["--db", sqlite_url, "report", "drift", "--all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["--db", sqlite_url, "rebalance", "drift", "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert len(report["accounts"]) == 12
    # `demo custodian-files` writes the three simulated custodians' statements and the answer key.
    out = tmp_path / "statements"
    assert main(["--db", sqlite_url, "demo", "custodian-files", "--out", str(out), "--seed", "3"]) == 0
    assert "SIMULATED custodian statements" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"answer_key.csv", "sim-custodian-c_semt002.xml", "sim-custodian-c_camt053.xml"} <= names
    for acct in report["accounts"]:  # both sides are whole portfolios, cash included as CASH:<ccy>
        assert sum(acct["model_weights"].values()) == pytest.approx(1.0, abs=1e-6)
        assert sum(acct["current_weights"].values()) == pytest.approx(1.0, abs=1e-6)
        for symbol, d in acct["drift"].items():
            expected = acct["current_weights"].get(symbol, 0.0) - acct["model_weights"].get(symbol, 0.0)
            assert d == pytest.approx(expected, abs=1e-6)


def test_bad_database_url_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", "not a url", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: not a database URL") and "Traceback" not in err


def test_no_command_opens_the_desktop_or_says_why_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without a display, `workstation` prints one line pointing to the offscreen route, no traceback."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["WORKSTATION_DB"] = f"sqlite:///{tmp_path / 'none.db'}"
    out = subprocess.run(
        [sys.executable, "-m", "workstation.cli.main"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "workstation screenshot" in out.stderr and "QT_QPA_PLATFORM=offscreen" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_no_terminal_for_a_password_is_one_clear_line(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script with no password variable and no terminal gets a message naming the variable, not a traceback."""
    assert main(["--db", sqlite_url, "db", "upgrade"]) == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSTATION_")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "workstation.cli.main",
            "--db",
            sqlite_url,
            "users",
            "add",
            "adm1",
            "--role",
            "admin",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: getpass cannot open /dev/tty
        env=env,
    )
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and "$WORKSTATION_NEW_PASSWORD" in out.stderr
    capsys.readouterr()
    assert main(["--db", sqlite_url, "users", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"users": []}  # nothing was written


def test_a_demo_whose_history_was_cut_off_is_built_again(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build killed while its SIMULATED history runs leaves every meta key but the last: the next
    `workstation demo` with the same options builds it again instead of keeping a partial history."""
    import engine.demo.build as build

    args = ["--db", sqlite_url, "demo", "--accounts", "4", "--seed", "3", "--history-years", "1", "--json"]
    real = build.run_history

    def cut_off(*a: object, **k: object) -> object:
        raise KeyboardInterrupt("killed part way")

    monkeypatch.setattr(build, "run_history", cut_off)
    with pytest.raises(KeyboardInterrupt):
        main(args)
    capsys.readouterr()
    monkeypatch.setattr(build, "run_history", real)
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["built_seconds"] is not None and again["history"]["years"] == 1  # rebuilt, whole
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["built_seconds"] is None  # finished: kept
