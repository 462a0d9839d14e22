"""Translation both ways, checked against the FIX 4.4 data dictionary shipped in resources/."""

from __future__ import annotations

from decimal import Decimal

import pytest
import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.dictionary import InvalidFixMessage, validate
from connectors.fix.translate import cancel_reject, exec_report, to_fix
from engine.oms.messages import CancelOrder, NewOrder, ReplaceOrder, StatusRequest

OUT = [
    NewOrder(
        "SIM", "C1", "AAPL", "XNAS", "buy", Decimal(100), "limit", "day", "USD", Decimal("10.5"), "ACC1"
    ),
    NewOrder("SIM", "C2", "VOD.L", "XLON", "sell", Decimal("2.5"), "market", "at_the_close", "GBP"),
    CancelOrder("SIM", "C3", "C1", "AAPL", "buy", Decimal(100), "B1"),
    ReplaceOrder("SIM", "C4", "C1", "AAPL", "XNAS", "buy", Decimal(50), "limit", "gtc", "USD", Decimal(10)),
    StatusRequest("SIM", "C1", "AAPL", "buy"),
]


@pytest.mark.parametrize("out", OUT, ids=lambda o: type(o).__name__)
def test_outbound_messages_are_valid_fix44(out) -> None:  # type: ignore[no-untyped-def]
    m = to_fix(out)
    validate(m)
    assert m.getField(T.CL_ORD_ID) == out.cl_ord_id


def test_a_broken_message_is_refused() -> None:
    m = to_fix(OUT[0])
    m.removeField(T.CL_ORD_ID)
    with pytest.raises(InvalidFixMessage):
        validate(m)
    m = to_fix(OUT[0])
    m.setField(T.SIDE, "Q")
    with pytest.raises(InvalidFixMessage):
        validate(m)


def test_execution_report_and_cancel_reject_become_engine_messages() -> None:
    m = fix.Message()
    m.getHeader().setField(T.MSG_TYPE, "8")
    m.getHeader().setField(T.POSS_DUP, "Y")
    for tag, value in ((37, "B1"), (11, "C1"), (17, "E9"), (150, "F"), (39, "1"), (55, "AAPL"), (54, "2"),
                       (38, "100"), (32, "40"), (31, "10.25"), (14, "40"), (151, "60"), (6, "10.25"),
                       (60, "20261123-15:00:01.250")):  # fmt: skip
        m.setField(tag, value)
    r = exec_report(m, "SIM")
    assert (r.exec_id, r.exec_type, r.side, r.last_qty, r.last_px, r.leaves_qty, r.poss_dup) == (
        "E9", "F", "sell", Decimal(40), Decimal("10.25"), Decimal(60), True,
    )  # fmt: skip
    assert r.transact_time is not None and r.transact_time.microsecond == 250000
    c = fix.Message()
    c.getHeader().setField(T.MSG_TYPE, "9")
    for tag, value in (
        (37, "B1"),
        (11, "X1"),
        (41, "C1"),
        (39, "0"),
        (434, "1"),
        (102, "0"),
        (58, "too late"),
    ):
        c.setField(tag, value)
    cr = cancel_reject(c, "SIM")
    assert (cr.cl_ord_id, cr.orig_cl_ord_id, cr.reason, cr.response_to, cr.text) == (
        "X1",
        "C1",
        0,
        "1",
        "too late",
    )
