"""One order's costs against hand computations: buys and sells, partial fills, a cancelled remainder."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from engine.tca.measures import OrderFacts, measure, vwap


def facts(
    side: str, qty: str, fills: list[tuple[str, str]], arrival: str | None = "100", **kw: object
) -> OrderFacts:
    base: dict[str, object] = dict(
        order_id=1, cl_ord_id="C1", broker="SIM", trader="tr1", symbol="AAPL", side=side, quantity=D(qty),
        currency="USD", status="filled", trade_date=date(2026, 11, 23),
        fills=[(D(q), D(p)) for q, p in fills], arrival=None if arrival is None else D(arrival),
        end_px=None, prints=[(D("100.10"), D(300)), (D("100.40"), D(100))], fx=D(1),
    )  # fmt: skip
    base.update(kw)
    return OrderFacts(**base)  # type: ignore[arg-type]


def test_vwap_is_size_weighted() -> None:
    # (100.10 * 300 + 100.40 * 100) / 400 = 40070 / 400 = 100.175
    assert vwap([(D("100.10"), D(300)), (D("100.40"), D(100))]) == D("100.175")
    assert vwap([]) is None


def test_a_buy_filled_above_arrival_is_a_cost() -> None:
    # 200 @ 100.20 and 100 @ 100.50: avg 100.30; arrival 100; VWAP 100.175.
    c = measure(facts("buy", "300", [("200", "100.20"), ("100", "100.50")]))
    assert c.avg_px == D("100.30") and c.fill_rate == 1
    assert c.execution_cost == D("90.00")  # +1 * 300 * (100.30 - 100)
    assert c.opportunity_cost == 0 and c.shortfall == D("90.00")
    assert c.shortfall_bps == D(30)  # 90 / (300 * 100) * 10,000
    assert c.slippage_arrival_bps == D(30)
    # +1 * (100.30 - 100.175) / 100.175 * 10,000 = 12.478...
    assert round(c.slippage_vwap_bps, 4) == D("12.4782")  # type: ignore[arg-type]


def test_a_sell_filled_above_arrival_is_a_gain() -> None:
    c = measure(facts("sell", "300", [("300", "100.30")]))
    assert c.execution_cost == D("-90.00")  # -1 * 300 * (100.30 - 100): sold dearer than arrival
    assert c.shortfall_bps == D(-30) and c.slippage_arrival_bps == D(-30)
    assert round(c.slippage_vwap_bps, 4) == D("-12.4782")  # type: ignore[arg-type]


def test_a_cancelled_remainder_costs_its_opportunity() -> None:
    # Buy 1,000, 400 filled at 100.10, the rest cancelled when the market was 101.
    c = measure(facts("buy", "1000", [("400", "100.10")], end_px=D(101), status="canceled"))
    assert c.fill_rate == D("0.4")
    assert c.execution_cost == D("40.00")  # 400 * 0.10
    assert c.opportunity_cost == D("600")  # 600 * (101 - 100)
    assert c.shortfall == D("640.00") and c.shortfall_bps == D(64)  # 640 / (1,000 * 100) * 10,000
    # A sell whose market fell after the cancel: the unsold 600 lost 600 * (100 - 99).
    s = measure(facts("sell", "1000", [("400", "99.90")], end_px=D(99), status="canceled"))
    assert s.execution_cost == D("40.00") and s.opportunity_cost == D(600)


def test_fees_add_to_the_cost_and_missing_inputs_are_named() -> None:
    c = measure(facts("buy", "100", [("100", "100")], fees=D("5")))
    assert c.shortfall == D(5) and c.shortfall_bps == D(5)
    n = measure(facts("buy", "100", [("50", "100")], arrival=None, status="canceled"))
    assert n.shortfall is None and n.shortfall_bps is None and n.slippage_arrival_bps is None
    assert n.missing == ("arrival price", "market at the end")
    z = measure(facts("buy", "100", [], status="expired", end_px=D("100.5")))
    assert z.fill_rate == 0 and z.execution_cost == 0 and z.opportunity_cost == D(50)
    assert z.slippage_vwap_bps is None and z.avg_px is None
