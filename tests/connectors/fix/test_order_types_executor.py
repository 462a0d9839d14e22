"""Time in force against QuickFIX's own C++ example executor (it fills limit orders at once at their
limit, whatever the TimeInForce): IOC, FOK, GTD and limit-on-close orders and a strategy's tags are
valid FIX 4.4 to a third-party engine validating against its dictionary, and fill. Skipped when the
executor is not built."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, draft
from tests.connectors.fix.test_quickfix_executor import EXECUTOR, _wait_listening, start_executor
from tests.connectors.fix.wire import sent_orders
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


@pytest.mark.skipif(not EXECUTOR.exists(), reason="QuickFIX example executor not built")
def test_ioc_fok_gtd_on_close_and_strategy_limit_orders_fill_at_quickfix_executor(tmp_path: Path) -> None:
    port, proc = start_executor(tmp_path)
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    oms = None
    expiry = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    try:
        make_book(db)
        _wait_listening(port, proc)
        oms = Oms(db, tmp_path, port, checker=PassAll(), booker=RecordingBooker())
        ids = oms.create(
            draft("ACC1", qty=100, order_type="limit", limit_price=Decimal("101.25"), time_in_force="ioc"),
            draft("ACC2", qty=200, order_type="limit", limit_price=Decimal("99.5"), time_in_force="fok"),
            draft("ACC3", qty=300, order_type="limit", limit_price=Decimal("98"), time_in_force="gtd",
                  expire_at=expiry),
            draft("ACC1", qty=50, order_type="limit_on_close", limit_price=Decimal("97")),
            draft("ACC2", qty=60, order_type="limit", limit_price=Decimal("96"), strategy="pov",
                  strategy_params=(("participation_rate", "0.2"),)),
        )  # fmt: skip
        oms.manager.route(ids)
        done = [oms.wait(oid) for oid in ids]
        assert [(o.status, o.cum_qty, o.leaves_qty, o.avg_px) for o in done] == [
            ("filled", 100, 0, Decimal("101.25")),
            ("filled", 200, 0, Decimal("99.5")),
            ("filled", 300, 0, Decimal("98")),
            ("filled", 50, 0, Decimal("97")),  # the executor fills at once: it does not wait for the close
            ("filled", 60, 0, Decimal("96")),
        ]
        wire = sent_orders(tmp_path / "fix")
        assert [
            (wire[o.cl_ord_id][59], wire[o.cl_ord_id].get(126), wire[o.cl_ord_id].get(847)) for o in done
        ] == [
            ("3", None, None),
            ("4", None, None),
            ("6", "20261124-21:00:00.000", None),
            ("7", None, None),
            ("0", None, "2"),
        ]
        assert oms.manager.alerts == 0
    finally:
        if oms is not None:
            oms.stop()
        proc.kill()
        proc.wait()
        db.dispose()
