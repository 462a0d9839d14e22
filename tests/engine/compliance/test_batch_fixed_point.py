"""A hard-blocked order will not trade, so it covers no other order of its batch: the batch is
checked again without it until no new order is blocked (a fixed point). Mini book: U1 holds 100
AAA at 100 and 4,000 USD of a 20,000 USD account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.compliance.checker import run_check
from engine.ports import OrderIntent
from engine.store.database import Database
from tests.engine.compliance.minibook import rule

RULES = [
    rule("no_short", code="SHORT"),
    rule("cash_overdraft", code="OD"),
    rule("security_weight_max", "soft", max_weight=0.6, code="SEC"),
]
SELL_TWICE = OrderIntent("U1", "AAA", "sell", Decimal(200), ref="sell")
BUY_20X = OrderIntent("U1", "AAA", "buy", Decimal(2000), ref="buy")


def _outcomes(db: Database, orders: list[OrderIntent], rules=RULES) -> tuple[list[str], object]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        run = run_check(s, orders, rules=rules)
    return [run.outcome(i) for i in range(len(orders))], run


def test_a_short_sale_covered_only_by_a_blocked_buy_stays_blocked(minibook: Database) -> None:
    alone, _ = _outcomes(minibook, [SELL_TWICE])
    assert alone == ["block"]
    # The 20x buy overdraws the cash (hard block); before the fix its 2,000 shares "covered" the
    # sale, which was only flagged (concentration, soft).
    both, run = _outcomes(minibook, [BUY_20X, SELL_TWICE])
    assert both == ["block", "block"] and run.rounds == 3  # buy out, sale out, nothing new
    short = run.result(0, 1)
    assert (short["outcome"], short["before"], short["after"]) == ("block", 100, -100)
    assert "short 100" in short["message"]
    overdraft = run.result(1, 0)  # the buy keeps the verdict of the round that blocked it
    assert overdraft["outcome"] == "block" and overdraft["after"] == 4_000 - 200_000 + 20_000
    assert run.counts() == {"pass": 0, "warn": 0, "flag": 0, "block": 2}


def test_orders_that_are_not_blocked_still_count_for_each_other(minibook: Database) -> None:
    """A sell covered by a buy that passes stays covered (only blocked orders leave)."""
    buy = OrderIntent("U1", "AAA", "buy", Decimal(30))
    outcomes, run = _outcomes(minibook, [buy, OrderIntent("U1", "AAA", "sell", Decimal(120))])
    assert outcomes == ["pass", "pass"] and run.rounds == 1
    assert run.result(0, 1)["after"] == 10


def test_blocks_cascade_through_rounds_and_the_iteration_ends(minibook: Database) -> None:
    """A fat-finger buy covers a sale whose proceeds pay for a second buy: round 1 blocks the buy,
    round 2 the sale (now short), round 3 the second buy (now overdrawn), round 4 changes nothing."""
    rules = [
        rule("no_short", code="SHORT"),
        rule("cash_overdraft", code="OD"),
        rule("fat_finger", max_pct=0.1),
    ]
    orders = [
        OrderIntent("U1", "AAA", "buy", Decimal(2000), "limit", Decimal("0.01"), ref="fat"),
        OrderIntent("U1", "AAA", "sell", Decimal(200), ref="sale"),
        OrderIntent("U1", "AAB", "buy", Decimal(230), ref="funded"),
    ]
    outcomes, run = _outcomes(minibook, orders, rules)
    assert outcomes == ["block", "block", "block"] and run.rounds == 4
    assert run.result(0, 1)["after"] == -100  # the sale, without the fat-finger buy
    assert run.result(1, 2)["after"] == 4_000 - 23_000  # the funded buy, without the sale
    # each order alone in the first two positions: the cascade, not the orders, blocked them
    assert _outcomes(minibook, orders[2:], rules)[0] == ["block"]
    assert _outcomes(minibook, orders[1:], rules)[0] == ["block", "block"]


def test_orders_blocked_together_stay_blocked_when_each_alone_would_pass(minibook: Database) -> None:
    """Two buys that together overdraw the cash are both blocked; leaving the projection does not
    clear them (an order once blocked keeps that verdict), so the rounds cannot oscillate."""
    orders = [OrderIntent("U1", "AAB", "buy", Decimal(30)), OrderIntent("U1", "AAB", "buy", Decimal(30))]
    outcomes, run = _outcomes(minibook, orders)
    assert outcomes == ["block", "block"] and run.rounds == 2
    assert [run.result(1, i)["after"] for i in range(2)] == [-2_000, -2_000]
    assert _outcomes(minibook, orders[:1])[0] == ["pass"]


def test_rules_that_do_not_depend_on_the_batch_are_evaluated_once(
    minibook: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rounds re-run only rules that read the projection; a price collar's verdict is kept."""
    from engine.compliance import checker

    calls: list[str] = []
    real = checker.get_template

    def counting(name: str):  # type: ignore[no-untyped-def]
        calls.append(name)
        return real(name)

    rules = [
        rule("no_short", code="SHORT"),
        rule("cash_overdraft", code="OD"),
        rule("fat_finger", max_pct=0.1),
    ]
    orders = [
        OrderIntent("U1", "AAA", "buy", Decimal(2000), "limit", Decimal("0.01")),
        OrderIntent("U1", "AAA", "sell", Decimal(200)),
    ]
    monkeypatch.setattr(checker, "get_template", counting)
    outcomes, run = _outcomes(minibook, orders, rules)
    assert outcomes == ["block", "block"] and run.rounds == 3
    assert (
        calls.count("fat_finger") == 1 and calls.count("no_short") == 3 and calls.count("cash_overdraft") == 3
    )
    ff = run.result(2, 0)
    assert ff["outcome"] == "block" and ff["after"] > 0.99  # 99.99% away from the last price
