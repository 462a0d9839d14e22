"""FIX secrets: the logon password comes from the one credential store (insecure keychains and
missing passwords refused), reaches the broker, and is in no file under the FIX store and log
directories, which are 0700 with 0600 files. Over a real session on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backends import fail, null

from connectors.credentials import KeyringCredentialStore, MissingSecret, NoSecureKeychain
from connectors.fix.gateway import FixGateway
from connectors.fix.log import redact
from engine.oms.messages import Inbound, SessionState
from tests.connectors.fix.harness import Sim, fix_config
from tests.connectors.memory_keyring import MemoryKeyringForTests

SECRET = "Tr0ub4dor&3-logon"


def _config(tmp: Path, port: int) -> Path:
    path = fix_config(tmp, port)
    path.write_text(path.read_text() + "Username=desk1\n")
    return path


def _store(secret: str | None = SECRET) -> KeyringCredentialStore:
    backend = MemoryKeyringForTests()
    if secret is not None:
        backend.set_password("fix:SIM", "desk1", secret)
    return KeyringCredentialStore(backend)


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            yield Path(dirpath) / n


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _wait(cond, seconds: float = 30) -> bool:  # type: ignore[no-untyped-def]
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())


class Tap:
    """A TCP forwarder on 127.0.0.1 that keeps a copy of what the workstation sends the broker."""

    def __init__(self, target_port: int) -> None:
        self.sent = bytearray()
        self.links: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.target = target_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.server.accept()
                broker = socket.create_connection(("127.0.0.1", self.target))
                self.links += [client, broker]
                threading.Thread(target=self._pump, args=(client, broker, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(broker, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        with contextlib.suppress(OSError), src, dst:
            while data := src.recv(65536):
                if outbound:
                    self.sent += data
                dst.sendall(data)

    def cut(self) -> None:
        """Drop the connections (the listener stays: QuickFIX reconnects and logs on again)."""
        links, self.links = self.links, []
        for sock in links:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()
        self.cut()


def test_logon_password_reaches_the_broker_and_no_fix_file_keeps_it(tmp_path: Path) -> None:
    sim = Sim(tmp_path).ready()
    tap = Tap(sim.port)
    state = tmp_path / "fix"
    (state / "log").mkdir(parents=True)  # left 0755 by an older version: tightened at start
    old = state / "log" / "FIX.4.4-WS-SIM.event.current.log"
    old.write_text("")
    os.chmod(state / "log", 0o755)
    os.chmod(old, 0o644)
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    gateway = FixGateway(_config(tmp_path, tap.port), state, inbox, _store())
    logons: list[SessionState] = []

    def logged_on(times: int) -> bool:
        while not inbox.empty():
            m = inbox.get()
            if isinstance(m, SessionState) and m.kind == "logon":
                logons.append(m)
        return len(logons) >= times

    body = state / "store" / "FIX.4.4-WS-SIM.body"
    try:
        gateway.start()
        assert _wait(lambda: logged_on(1)), "no logon"
        os.chmod(body, 0o644)  # as a store reset (a new FIX day) recreates it
        tap.cut()  # QuickFIX reconnects and logs on again, with the password again
        assert _wait(lambda: logged_on(2)), "no second logon"
    finally:
        gateway.stop()  # a graceful logout: the Logout is the next message QuickFIX stores
        sim.stop()
        tap.close()
    # the password went to the broker, in the Logon on the wire ...
    assert bytes(tap.sent).count(f"\x01553=desk1\x01554={SECRET}\x01".encode()) >= 2  # every Logon
    # ... the simulated broker's QuickFIX log masks it too ...
    sim_logs = list(_files(tmp_path / f"sim-{sim.port}" / "log"))
    assert any("554=***" in p.read_text(errors="replace") for p in sim_logs)
    assert not any(SECRET in p.read_text(errors="replace") for p in sim_logs)
    # ... and nothing of ours keeps it: not the message log, not the event log, not the store
    files = list(_files(state))
    assert {p.parent.name for p in files} >= {"log", "store"}
    for p in files:
        text = p.read_bytes().decode("latin-1")
        assert SECRET not in text, p
    messages = (state / "log" / "FIX.4.4-WS-SIM.messages.current.log").read_text()
    assert "\x01553=desk1\x01554=***\x01" in messages  # the Logon was logged, its password masked
    stored = body.read_text()
    assert "\x0135=5\x01" in stored and "\x0135=A\x01" not in stored  # stored again after the Logons
    # 0700 directories, 0600 files (QuickFIX's own files and the one left by an older version)
    for d in (state, state / "log", state / "store"):
        assert _mode(d) == 0o700, d
    assert files and all(_mode(p) == 0o600 for p in files), [(p.name, oct(_mode(p))) for p in files]


def test_a_missing_fix_password_stops_the_gateway_before_any_logon(tmp_path: Path) -> None:
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    with pytest.raises(
        MissingSecret, match=r"no password for 'desk1' at 'fix:SIM'.*keyring set fix:SIM desk1"
    ):
        FixGateway(_config(tmp_path, 1), tmp_path / "fix", inbox, _store(None))
    with pytest.raises(Exception, match="Username but no credential store"):
        FixGateway(_config(tmp_path, 1), tmp_path / "fix", inbox, None)
    assert list((tmp_path / "fix").iterdir()) == []  # refused before any file was written


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_an_insecure_keychain_is_refused_for_fix_passwords(tmp_path: Path, backend: object) -> None:
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    store = KeyringCredentialStore(backend)  # type: ignore[arg-type]
    with pytest.raises(NoSecureKeychain, match="no secure keychain is available"):
        FixGateway(_config(tmp_path, 1), tmp_path / "fix", inbox, store)


def test_sessions_without_a_username_need_no_password(tmp_path: Path) -> None:
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    gateway = FixGateway(
        fix_config(tmp_path, 1), tmp_path / "fix", inbox, KeyringCredentialStore(fail.Keyring())
    )
    gateway.stop()


def test_redact_masks_password_tags_only() -> None:
    msg = "8=FIX.4.4\x019=88\x0135=A\x01553=desk1\x01554=p=w\x01925=new\x015540=keep\x0110=051\x01"
    assert (
        redact(msg)
        == "8=FIX.4.4\x019=88\x0135=A\x01553=desk1\x01554=***\x01925=***\x015540=keep\x0110=051\x01"
    )
    assert redact("554=x\x01") == "554=***\x01"
    assert redact("Created session") == "Created session"


def test_redact_without_the_regex_is_the_regex() -> None:
    """The shortcut (no "554=" or "925=" in the text: returned as is) changes nothing: random texts
    of tags, separators and near-misses, compared with the regex applied to every text."""
    import random
    import re

    from connectors.fix.log import _SECRET

    rng = random.Random(11)
    pieces = ["554", "925", "5540", "1554", "55", "4=", "=", "\x01", "35=A", "x", "p=w", "9250", ""]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        assert redact(text) == _SECRET.sub(r"\1\2=***", text), repr(text)
    assert isinstance(_SECRET, re.Pattern)


@pytest.mark.parametrize("stored", [False, True], ids=["insecure-keychain", "no-password"])
def test_headless_oms_refuses_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    import keyring

    from tests.conftest import migrated
    from workstation.cli.main import main

    url = f"sqlite:///{tmp_path / 'book.db'}"
    migrated(url).dispose()
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyringForTests() if stored else fail.Keyring())
    try:
        code = main(
            ["--db", url, "oms", "--headless", "--fix-config", str(_config(tmp_path, 1)), "--timeout", "1"]
        )
    finally:
        keyring.set_keyring(previous)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("error: ")
    expected = "no password for 'desk1' at 'fix:SIM'" if stored else "no secure keychain is available"
    assert expected in lines[0]
