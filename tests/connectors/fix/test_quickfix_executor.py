"""The OMS against QuickFIX's own example executor (C++, from Debian's libquickfix-doc), if built.

Build it with `.ci/build-quickfix-executor DIR` (CI always does, see docs/oms.md); point
WORKSTATION_QF_EXECUTOR at DIR/executor-bin. The executor fills every limit order at once at its limit price, without a New ack.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.fix.config import dictionary_path
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, free_port
from tests.engine.oms.book import PassAll, RecordingBooker, make_book

EXECUTOR = Path(os.environ.get("WORKSTATION_QF_EXECUTOR", "/tmp/executor/executor-bin"))


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll until the executor accepts TCP connections on `port` (it may take a moment to bind)."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"executor exited with {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"executor not listening on {port}"
            time.sleep(0.05)


def start_executor(tmp_path: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """QuickFIX's example executor as a FIX 4.4 acceptor (SIM) on a free port: (port, process)."""
    port = free_port()
    cfg = tmp_path / "executor.cfg"
    cfg.write_text(
        "\n".join(
            [
                "[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}", "SocketReuseAddress=Y",
                "StartTime=00:00:00", "EndTime=00:00:00", f"FileStorePath={tmp_path / 'ex-store'}",
                "UseDataDictionary=Y", f"DataDictionary={dictionary_path()}", "",
                "[SESSION]", "BeginString=FIX.4.4", "SenderCompID=SIM", "TargetCompID=WS", "",
            ]
        )
    )  # fmt: skip
    proc = subprocess.Popen([str(EXECUTOR), str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return port, proc


@pytest.mark.skipif(not EXECUTOR.exists(), reason="QuickFIX example executor not built")
def test_limit_orders_fill_at_quickfix_executor(tmp_path: Path) -> None:
    port, proc = start_executor(tmp_path)
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    oms = None
    try:
        make_book(db)
        _wait_listening(port, proc)
        booker = RecordingBooker()
        oms = Oms(db, tmp_path, port, checker=PassAll(), booker=booker)
        ids = oms.create(
            *[
                __import__("tests.connectors.fix.harness", fromlist=["draft"]).draft(
                    acc, qty=q, order_type="limit", limit_price=Decimal(px)
                )
                for acc, q, px in (("ACC1", 100, "101.25"), ("ACC2", 250, "99.5"))
            ]
        )
        oms.manager.route(ids)
        for oid, q, px in zip(ids, (100, 250), ("101.25", "99.5")):
            o = oms.wait(oid)
            assert (o.status, o.cum_qty, o.leaves_qty, o.avg_px) == ("filled", q, 0, Decimal(px))
        assert sorted(f.quantity for f in booker.fills.values()) == [100, 250]
        assert oms.manager.alerts == 0
    finally:
        if oms is not None:
            oms.stop()
        proc.kill()
        proc.wait()
        db.dispose()
