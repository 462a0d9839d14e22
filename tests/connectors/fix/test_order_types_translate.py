"""Order types and time in force on the wire, each message checked against the FIX 4.4 dictionary."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.fix import tags as T
from connectors.fix.dictionary import validate
from connectors.fix.translate import to_fix
from engine.oms.messages import NewOrder, ReplaceOrder

EXPIRY = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def _new(order_type: str, tif: str = "day", **kw) -> NewOrder:  # type: ignore[no-untyped-def]
    return NewOrder("SIM", "C1", "AAPL", "XNAS", "buy", Decimal(100), order_type, tif, "USD", **kw)


CASES = [  # (message, {tag: value or None for absent})
    (_new("market"), {40: "1", 59: "0", 44: None, 99: None, 126: None}),
    (_new("limit", "ioc", limit_price=Decimal("10.5")), {40: "2", 44: "10.5", 59: "3"}),
    (_new("market", "fok"), {40: "1", 59: "4", 44: None}),
    (_new("stop", "gtc", stop_price=Decimal("12.25")), {40: "3", 99: "12.25", 44: None, 59: "1"}),
    (_new("stop_limit", limit_price=Decimal(13), stop_price=Decimal(12)), {40: "4", 44: "13", 99: "12"}),
    # FIX 4.4 retired OrdType 5 and B: on-close is TimeInForce 7 (At the Close).
    (_new("market_on_close"), {40: "1", 59: "7", 44: None}),
    (_new("limit_on_close", limit_price=Decimal("9.9")), {40: "2", 59: "7", 44: "9.9"}),
    (
        _new("limit", "gtd", limit_price=Decimal(10), expire_at=EXPIRY),
        {59: "6", 126: "20261124-21:00:00.000"},
    ),
    (_new("market", "at_the_open"), {40: "1", 59: "2"}),
    (
        _new(
            "limit", limit_price=Decimal(10), strategy="2", strategy_params=(("participation_rate", "0.1"),)
        ),
        {847: "2", 848: "participation_rate=0.1", 849: "0.1"},
    ),
    (
        _new("market", strategy="1", strategy_params=(("end_time", "15:30"), ("start_time", "10:00"))),
        {847: "1", 848: "end_time=15:30;start_time=10:00", 849: None},
    ),
    (_new("market"), {847: None, 848: None}),
    (
        ReplaceOrder(
            "SIM",
            "C2",
            "C1",
            "AAPL",
            "XNAS",
            "sell",
            Decimal(50),
            "stop_limit",
            "gtd",
            "USD",
            Decimal(9),
            stop_price=Decimal("9.5"),
            expire_at=EXPIRY,
        ),
        {40: "4", 44: "9", 99: "9.5", 59: "6", 126: "20261124-21:00:00.000"},
    ),
]


@pytest.mark.parametrize(("out", "tags"), CASES, ids=lambda x: getattr(x, "order_type", ""))
def test_types_and_time_in_force_go_out_as_fix44_tags(out, tags) -> None:  # type: ignore[no-untyped-def]
    m = to_fix(out)
    validate(m)
    assert {k: (m.getField(k) if m.isSetField(k) else None) for k in tags} == tags
    assert m.getField(T.CL_ORD_ID) == out.cl_ord_id
