"""Waves over a real QuickFIX session: lone route calls queued to the engine thread, filled by
QuickFIX's C++ example executor over 127.0.0.1, booked by accounting's LedgerBooker; the same
reports applied one by one to a second book write the same ledger (lots, cash, gains, events,
audit chain), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.clock import ManualClock
from engine.oms import wave_route
from engine.oms.drafts import OrderDraft
from engine.oms.messages import ExecReport, Inbound
from engine.oms.tables import Order
from engine.store.database import Database
from tests.connectors.fix.harness import OPEN, Oms
from tests.connectors.fix.test_quickfix_executor import EXECUTOR, _wait_listening, start_executor
from tests.engine.oms.book import Gateway, PassAll, make_book, make_oms
from tests.engine.oms.ledger_digest import same_ledger
from tests.engine.oms.two_books import two_books  # noqa: F401  (the fixture)

BUYS = [(acc, 100 + 10 * k, f"{100 + k}.25") for k in range(4) for acc in ("ACC1", "ACC2", "ACC3")]
SELLS = [("ACC1", 60, "110.5"), ("ACC2", 110, "95"), ("ACC3", 30, "101")]


def drafts(lines: Sequence[tuple[str, int, str]], side: str) -> list[OrderDraft]:
    return [
        OrderDraft(acc, "AAPL", side, Decimal(q), broker="SIM", order_type="limit", limit_price=Decimal(px))  # type: ignore[arg-type]
        for acc, q, px in lines
    ]


def cl_of(db: Database) -> dict[int, str]:
    with db.session() as s:
        return dict(s.execute(select(Order.id, Order.cl_ord_id)).all())


@pytest.mark.skipif(not EXECUTOR.exists(), reason="QuickFIX example executor not built")
def test_waves_over_quickfix_book_what_one_by_one_books(
    two_books: tuple[Database, Database],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = two_books
    make_book(a)
    port, proc = start_executor(tmp_path)
    received: list[Inbound] = []
    phases: list[list[int]] = []
    try:
        _wait_listening(port, proc)
        oms = Oms(a, tmp_path, port, checker=PassAll(), booker=LedgerBooker())
        apply_batch = oms.manager.apply_batch

        def recording(messages, *rest):  # type: ignore[no-untyped-def]
            received.extend(messages)
            return apply_batch(messages, *rest)

        oms.manager.apply_batch = recording  # type: ignore[method-assign]
        for lines, side in ((BUYS, "buy"), (SELLS, "sell")):
            ids = oms.create(*drafts(lines, side))
            phases.append(ids)
            calls = [oms.loop.route([i]) for i in ids]  # each order its own call
            for i in ids:
                assert oms.wait(i).status == "filled"
            assert [c.result(timeout=0).sent for c in calls] == [[i] for i in ids]
        oms.drain(0.3)  # the last wave's sent_at
        assert oms.manager.executions.wave.applied == len(BUYS) + len(SELLS)  # every fill in bulk
        assert oms.manager.alerts == 0
        oms.stop()
    finally:
        proc.kill()
        proc.wait()
    # the same reports, one by one, into the second book
    make_book(b)
    gw = Gateway()
    m = make_oms(b, gateway=gw, booker=LedgerBooker(), clock=ManualClock(OPEN))
    order_of = {cl: oid for oid, cl in cl_of(a).items()}
    reports = [r for r in received if isinstance(r, ExecReport)]
    with monkeypatch.context() as p:
        p.setattr(wave_route, "ordinary", lambda *x, **k: False)  # the ORM path for every order
        for (lines, side), ids in zip(((BUYS, "buy"), (SELLS, "sell")), phases):
            assert m.create(drafts(lines, side)) == ids
            for i in ids:
                m.route([i])
            mine = cl_of(b)
            for r in reports:
                if order_of[r.cl_ord_id] in ids:
                    m.apply(dataclasses.replace(r, cl_ord_id=mine[order_of[r.cl_ord_id]]))
    da = same_ledger(a, b)
    assert len(da["realized_gains"]) >= 3 and len(da["tax_lots"]) >= 12
