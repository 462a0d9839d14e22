"""`oms --headless` exits non-zero when orders are still open at the timeout; logon passwords
come from the keychain (CredentialStore), never from the settings file."""

from __future__ import annotations

import json
import queue
from pathlib import Path

import quickfix as fix

from connectors.credentials import KeyringCredentialStore
from connectors.fix import tags as T
from connectors.fix.application import WorkstationApplication
from tests.conftest import migrated
from tests.connectors.fix.harness import all_orders, draft, fix_config, free_port
from tests.connectors.memory_keyring import MemoryKeyringForTests
from tests.engine.oms.book import PassAll, make_book, make_oms
from workstation.cli.main import main


def test_headless_exits_1_when_orders_stay_open(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = migrated(url)
    make_book(db)
    make_oms(db, checker=PassAll()).create([draft(qty=100)])
    config = fix_config(tmp_path, free_port())  # nobody listens there: the session never logs on
    code = main(["--db", url, "oms", "--headless", "--fix-config", str(config), "--timeout", "2",
                 "--outside-hours", "--json"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["all_final"] is False and summary["open_orders"] == 1
    assert summary["sessions"][0]["broker"] == "SIM" and summary["sessions"][0]["logged_on"] is False
    # committed before it was (not) sent: it waits as pending_new for the next logon's reconcile
    [o] = all_orders(db)
    assert (o.status, o.sent_at) == ("pending_new", None)
    db.dispose()


def test_headless_counts_orders_waiting_for_approval_as_open(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = migrated(url)
    make_book(db)
    make_oms(db, checker=PassAll(flag=["ACC1"])).create([draft(qty=100)])  # flagged: waits for approval
    config = fix_config(tmp_path, free_port())
    code = main(["--db", url, "oms", "--headless", "--fix-config", str(config), "--timeout", "1", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["all_final"] is False and summary["open_orders"] == 1
    assert [o.status for o in all_orders(db)] == ["pending_approval"]  # never routed
    db.dispose()


def test_logon_carries_username_and_keychain_password() -> None:
    backend = MemoryKeyringForTests()
    backend.set_password("fix:SIM", "desk1", "s3cret")
    app = WorkstationApplication(queue.SimpleQueue(), KeyringCredentialStore(backend), {"SIM": "desk1"})
    logon = fix.Message()
    logon.getHeader().setField(T.MSG_TYPE, "A")
    app.toAdmin(logon, fix.SessionID("FIX.4.4", "WS", "SIM"))
    assert (logon.getField(T.USERNAME), logon.getField(T.PASSWORD)) == ("desk1", "s3cret")
    other = fix.Message()
    other.getHeader().setField(T.MSG_TYPE, "A")
    app.toAdmin(other, fix.SessionID("FIX.4.4", "WS", "BRK2"))  # no username configured: nothing added
    assert not other.isSetField(T.USERNAME) and not other.isSetField(T.PASSWORD)
