"""Brokers as they are, against an engine we did not write: QuickFIX's own C++ example executor
hosts three sessions on one port, FIX 4.2 (as SIM42, validating with that broker's dictionary: its
custom tag 5001 and required Account), FIX 4.4 (SIM) and FIXT.1.1 (SIM50). The executor's code
answers FIX 5.0 (ApplVerID 7), not 5.0 SP2, so its session's DefaultApplVerID is FIX.5.0 while ours
is FIX.5.0SP2: the NewOrderSingle and ExecutionReport fields we use are the same in both.

It fills every limit order at once at its limit (4.2: ExecType 2 with ExecTransType 0) and answers
any other order type with a session Reject (35=3), which the OMS takes as the order's rejection. It
rests nothing, so cancel and replace are tested against the simulated brokers only
(test_versions_sim.py). Skipped when the executor is not built."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.fix.brokers import rules_for
from connectors.fix.versions import FIX44, FIX50SP2, transport_dictionary
from engine.oms.drafts import OrderDraft
from engine.oms.tables import OrderEvent
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, free_port
from tests.connectors.fix.test_quickfix_executor import EXECUTOR, _wait_listening
from tests.connectors.fix.versions_desk import BROKERS, received, sent, sessions_config
from tests.engine.oms.book import PassAll, RecordingBooker, make_book

pytestmark = pytest.mark.skipif(not EXECUTOR.exists(), reason="QuickFIX example executor not built")


def executor_config(tmp: Path, port: int) -> Path:
    """The executor's settings: one acceptor port, a session per version."""
    sim42 = rules_for("SIM42")
    assert sim42 is not None
    lines = [
        "[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}", "SocketReuseAddress=Y",
        "StartTime=00:00:00", "EndTime=00:00:00", f"FileStorePath={tmp / 'ex-store'}", "UseDataDictionary=Y",
        "", "[SESSION]", "BeginString=FIX.4.2", "SenderCompID=SIM42", "TargetCompID=WS",
        f"DataDictionary={sim42.dictionary_file(tmp / 'ex-dictionaries')}",
        "", "[SESSION]", "BeginString=FIX.4.4", "SenderCompID=SIM", "TargetCompID=WS",
        f"DataDictionary={FIX44.dictionary()}",
        "", "[SESSION]", "BeginString=FIXT.1.1", "SenderCompID=SIM50", "TargetCompID=WS",
        "DefaultApplVerID=FIX.5.0", f"TransportDataDictionary={transport_dictionary()}",
        f"AppDataDictionary={FIX50SP2.dictionary()}", f"AppDataDictionary.FIX.5.0SP2={FIX50SP2.dictionary()}", "",
    ]  # fmt: skip
    path = tmp / "executor.cfg"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class Desk:
    oms: Oms
    booker: RecordingBooker
    fix_dir: Path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("executor")
    port = free_port()
    proc = subprocess.Popen(
        [str(EXECUTOR), str(executor_config(tmp, port))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    oms = None
    try:
        make_book(db)
        _wait_listening(port, proc)
        booker = RecordingBooker()
        config = sessions_config(tmp, dict.fromkeys(BROKERS, port))
        oms = Oms(db, tmp, port, checker=PassAll(), booker=booker, config=config, brokers=tuple(BROKERS))
        yield Desk(oms, booker, tmp / "fix")
    finally:
        if oms is not None:
            oms.stop()
        proc.kill()
        proc.wait()
        db.dispose()


def _draft(broker: str, **kw: object) -> OrderDraft:
    return OrderDraft(account="ACC2", symbol="AAPL", side="sell", quantity=Decimal(120), broker=broker, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("broker", list(BROKERS))
def test_a_limit_order_fills_and_is_booked_in_each_version(desk: Desk, broker: str) -> None:
    oms = desk.oms
    [oid] = oms.create(_draft(broker, order_type="limit", limit_price=Decimal("98.75")))
    oms.manager.route([oid])
    o = oms.wait(oid)
    assert (o.status, o.cum_qty, o.leaves_qty, o.avg_px) == ("filled", 120, 0, Decimal("98.75"))
    booked = [f for f in desk.booker.fills.values() if o.cl_ord_id in f.source_ref]
    assert [(f.account, f.side.value, f.quantity, f.price) for f in booked] == [
        ("ACC2", "sell", 120, Decimal("98.75"))
    ]
    [fill] = [m for m in received(desk.fix_dir, broker) if m.get(11) == o.cl_ord_id]
    if broker == "SIM42":
        assert (fill[8], fill[150], fill[20], fill[39]) == ("FIX.4.2", "2", "0", "2")
        [order] = [m for m in sent(desk.fix_dir, broker, "D") if m[11] == o.cl_ord_id]
        assert (order[1], order[5001]) == ("ACC2", "WSDESK")
    else:
        assert (fill[8], fill[150], fill[39]) == (
            FIX44.begin_string if broker == "SIM" else "FIXT.1.1",
            "F",
            "2",
        )
    with oms.database.session() as s:  # (the executor may refuse a status request: not this order's alert)
        kinds = s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == oid)).all()
    assert "alert" not in kinds and "ignored" not in kinds


@pytest.mark.parametrize("broker", list(BROKERS))
def test_an_order_the_executor_refuses_is_rejected_in_each_version(desk: Desk, broker: str) -> None:
    oms = desk.oms
    [oid] = oms.create(_draft(broker, order_type="market"))
    oms.manager.route([oid])
    o = oms.wait(oid)
    assert (o.status, o.cum_qty, o.leaves_qty) == ("rejected", 0, 0)
    [reject] = [m for m in received(desk.fix_dir, broker, "3")]
    [order] = [m for m in sent(desk.fix_dir, broker, "D") if m[11] == o.cl_ord_id]
    assert (reject[45], reject[371]) == (order[34], "40")  # RefSeqNum, RefTagID: OrdType
