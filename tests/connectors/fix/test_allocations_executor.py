"""An AllocationInstruction (35=J) to QuickFIX's own C++ example executor, which has no allocation
desk: it answers the J with a BusinessMessageReject (Unsupported Message Type). The instruction
stays `sent` with one alert; nothing fails and the block stays filled."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import migrated
from tests.connectors.fix.alloc_helpers import actions, filled_block, instructions
from tests.connectors.fix.harness import Oms
from tests.connectors.fix.test_quickfix_executor import EXECUTOR, _wait_listening, start_executor
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


@pytest.mark.skipif(not EXECUTOR.exists(), reason="QuickFIX example executor not built")
def test_executor_never_acknowledges_a_j(tmp_path: Path) -> None:
    port, proc = start_executor(tmp_path)
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    oms = None
    try:
        make_book(db)
        _wait_listening(port, proc)
        oms = Oms(db, tmp_path, port, checker=PassAll(), booker=RecordingBooker())
        bid = filled_block(oms, (100, 200, 300), order_type="limit", limit_price=Decimal("101.25"))
        assert oms.loop.run_until(lambda: instructions(db, bid)[-1].alerted_at is not None, 15)
        oms.drain(0.5)
        [ins] = instructions(db, bid)
        assert ins.status == "sent" and ins.quantity == 600
        assert actions(db, ins.alloc_id) == [
            "oms.allocation.create",
            "oms.allocation.send",
            "oms.allocation.unanswered",
        ]
        log = "".join(p.read_text() for p in (tmp_path / "fix" / "log").glob("*messages*"))
        # One alert for the J; on a loaded machine the OMS may also ask the status of a slow order
        # (H), which this executor refuses with its own BusinessMessageReject and alert.
        status_rejects = sum(1 for line in log.splitlines() if "35=j\x01" in line and "372=H\x01" in line)
        assert oms.manager.alerts == 1 + status_rejects
        assert oms.order(bid).status == "filled"
        assert "35=J\x01" in log and "35=j\x01" in log  # sent, and refused by the executor
    finally:
        if oms is not None:
            oms.stop()
        proc.terminate()
        proc.wait(10)
        db.dispose()
