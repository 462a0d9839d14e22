"""Clean failures in every command: bad paths and numbers are one `error:` line and exit 2 (never
a traceback), a closed pipe ends quietly. Real files, folders and sockets; real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store.database import Database
from workstation.cli.main import SIGPIPE_EXIT, main


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A missing path, a folder, a plain file, a socket (open() fails even for root) and a locked file."""
    folder = tmp_path / "folder"
    folder.mkdir()
    plain = tmp_path / "plain.csv"
    plain.write_text("symbol\nX\n", encoding="utf-8")
    locked = tmp_path / "locked.csv"
    locked.write_text("symbol\nX\n", encoding="utf-8")
    locked.chmod(0)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.sock"))
    try:
        yield {
            "missing": str(tmp_path / "nowhere" / "none.csv"),
            "folder": str(folder),
            "file": str(plain),
            "socket": str(tmp_path / "s.sock"),
            "locked": str(locked),
        }
    finally:
        sock.close()


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run in-process; a refusal is exit 2 (argparse's SystemExit or main's return) and one line."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = int(exc.code or 0)
    assert rc == 2
    return _one_error_line(capsys.readouterr().err)


INPUTS = [
    ["import", "securities", "{p}"],
    ["compliance", "check", "{p}"],
    ["orders", "import", "{p}"],
    ["model", "set", "M1", "{p}"],
    ["reconcile", "load", "{p}", "--custodian", "SIM-CUSTODIAN-B"],
    ["reconcile", "load", "{file}", "--custodian", "SIM-CUSTODIAN-B", "--profile", "{p}"],
    ["oms", "--headless", "--timeout", "1", "--fix-config", "{p}"],
]


@pytest.mark.parametrize(
    "argv", INPUTS, ids=lambda a: " ".join(a[:2]) + (" --profile" if "--profile" in a else "")
)
@pytest.mark.parametrize(("kind", "reason"), [("missing", "no such file"), ("folder", "is a directory")])
def test_an_input_path_that_is_missing_or_a_folder_is_refused_before_anything_runs(
    sqlite_url: str,
    paths: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    kind: str,
    reason: str,
) -> None:
    line = _refused(
        ["--db", sqlite_url, *[a.format(p=paths[kind], file=paths["file"]) for a in argv]], capsys
    )
    assert paths[kind] in line and reason in line
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # refused before the book was opened


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
@pytest.mark.parametrize("argv", INPUTS[:4], ids=lambda a: " ".join(a[:2]))
def test_an_unreadable_input_file_is_refused(
    sqlite_url: str, paths: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    line = _refused(["--db", sqlite_url, *[a.format(p=paths["locked"]) for a in argv]], capsys)
    assert paths["locked"] in line and "not readable" in line


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["rebalance", "--json", "{folder}"], "is a directory"),
        (["rebalance", "--json", "{missing}"], "does not exist"),
        (["broker-sim", "--port", "5999", "--journal", "{folder}"], "is a directory"),
        (["broker-sim", "--port", "5999", "--state-dir", "{file}"], "is a file"),
        (["screenshot", "--out", "{file}"], "is a file"),
        (["demo", "custodian-files", "--out", "{file}"], "is a file"),
    ],
)
def test_an_output_path_of_the_wrong_kind_is_refused(
    sqlite_url: str, paths: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    line = _refused(["--db", sqlite_url, *[a.format(**paths) for a in argv]], capsys)
    assert reason in line


@pytest.mark.parametrize(
    "argv",
    [
        ["rebalance", "--workers", "10000"],
        ["rebalance", "--workers", "0"],
        ["rebalance", "--batch-size", "0"],
        ["rebalance", "--time-limit", "-1"],
        ["rebalance", "--max-turnover", "-0.1"],
        ["rebalance", "--cash-raise", "-5"],
        ["rebalance", "--tax-budget", "inf"],
        ["rebalance", "drift", "--limit", "0"],
        ["oms", "--headless", "--timeout", "-1"],
        ["oms", "--headless", "--timeout", "nan"],
        ["oms", "--headless", "--timeout", "5", "--lease-ttl", "0"],
        ["oms", "--headless", "--timeout", "5", "--lease-wait", "-2"],
        ["events", "watch", "--timeout", "-1"],
        ["events", "watch", "--since", "-1"],
        ["audit", "log", "--limit", "0"],
        ["compliance", "book", "--limit", "-3"],
        ["compliance", "case", "0"],
        ["report", "risk", "--all", "--confidence", "1"],
        ["report", "risk", "--all", "--horizon", "0"],
        ["report", "drift", "--limit", "-1"],
        ["demo", "--accounts", "0"],
        ["demo", "--accounts", "1e9"],
        ["demo", "--seed", "-1"],
        ["demo", "--history-years", "-1"],
        ["demo", "--history-years", "11"],
        ["demo", "custodian-files", "--out", "x", "--breaks", "1.5"],
        ["broker-sim", "--port", "70000"],
        ["broker-sim", "--port", "5999", "--reject-rate", "2"],
        ["broker-sim", "--port", "5999", "--fill-parts", "-1"],
        ["broker-sim", "--port", "5999", "--clock-speed", "0"],
        ["reconcile", "run", "--as-of", "2026-11-20", "--tolerance", "-1"],
        ["reconcile", "run", "--as-of", "2026-11-20", "--min-amount", "-1"],
        ["reconcile", "breaks", "--min-age", "-1"],
        ["reconcile", "show", "0"],
    ],
    ids=" ".join,
)
def test_a_negative_or_absurd_number_is_refused(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    option = next((a for a in reversed(argv[:-1]) if a.startswith("--")), None)
    line = _refused(["--db", sqlite_url, *argv], capsys)
    assert f"{option}:" in line if option else "argument" in line
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


def _cli(*argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workstation.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )  # type: ignore[call-overload]


def test_each_failure_class_in_a_real_process(sqlite_database: Database, paths: dict[str, str]) -> None:
    db = str(sqlite_database.url)
    for argv, says in [
        (["import", "securities", paths["missing"]], "no such file"),
        (["orders", "import", paths["folder"]], "is a directory"),
        (["rebalance", "--workers", "10000"], "--workers"),
        (["oms", "--headless", "--timeout", "-1"], "--timeout"),
        (["compliance", "check", paths["socket"]], "no such device or address"),  # open() fails at run time
    ]:
        out = _cli("--db", db, *argv)
        assert out.returncode == 2 and says in _one_error_line(out.stderr), (argv, out.stderr)
    out = _cli("--db", f"sqlite:///{paths['folder']}", "db", "info")
    assert out.returncode == 2 and "is a directory" in _one_error_line(out.stderr)


@pytest.mark.parametrize("argv", [["db", "info"], ["db", "info", "--json"], ["--help"]])
def test_a_closed_pipe_ends_quietly(sqlite_database: Database, argv: list[str]) -> None:
    """`workstation ... | head -1` with the reader gone before the first write: no traceback, no
    'Exception ignored' at exit; status 141 (128 + SIGPIPE) as `yes | head -1`, or 0 for --help."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation.cli.main", "--db", str(sqlite_database.url), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.wait(timeout=300) in ((0,) if argv == ["--help"] else (SIGPIPE_EXIT,))
    assert err == ""


def test_events_watch_stops_quietly_when_its_reader_goes_away(sqlite_database: Database) -> None:
    """The feed prints from the listener's thread: a closed pipe there ends the command (141),
    instead of leaving it watching for nobody until --timeout."""
    from sqlalchemy import text

    with sqlite_database.engine.begin() as conn:  # a change in the shared feed, to be replayed
        conn.execute(
            text(
                "INSERT INTO change_log (at, type, action, ids, state, who) "
                "VALUES (CURRENT_TIMESTAMP, 'order', 'test', '{}', 'new', 'tr1')"
            )
        )
    argv = ["events", "watch", "--db", str(sqlite_database.url), "--since", "0", "--timeout", "600"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "workstation.cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.wait(timeout=300) == SIGPIPE_EXIT
    assert "Traceback" not in err and "Exception" not in err and "error" not in err.lower(), err
