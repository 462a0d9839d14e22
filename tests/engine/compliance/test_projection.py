"""The post-trade projection across currencies, and the post-trade book check (passive breaches)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from engine.compliance.book import load_book
from engine.compliance.checker import run_check
from engine.compliance.posttrade import book_check, scan
from engine.errors import PermissionDenied
from engine.ports import OrderIntent
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.reference import Security
from tests.engine.compliance.minibook import rule

USD_IN_GBP = 0.85 / 1.10  # GBP per USD from EUR/USD 1.10 and EUR/GBP 0.85


def test_gbp_account_buying_usd_stock_projects_holdings_cash_and_value(minibook: Database) -> None:
    rules = [rule("security_weight_max", max_weight=0.10, code="SEC"), rule("cash_overdraft", code="OD"),
             rule("min_cash", min_fraction=0.0, use_account=False, code="MC")]  # fmt: skip
    orders = [OrderIntent("G1", "AAA", "buy", Decimal(10), "limit", Decimal(105))]
    with minibook.session() as s:
        run = run_check(s, orders, rules=rules, now=datetime(2026, 10, 30, 12, tzinfo=UTC))
    sec, od, mc = (run.result(r, 0) for r in range(3))
    holding_gbp = 10 * 100 * USD_IN_GBP  # valued at the last close
    paid_gbp = 10 * 105 * USD_IN_GBP  # paid at the limit price
    total_after = 6_000 + holding_gbp - paid_gbp
    assert sec["before"] == 0 and sec["after"] == pytest.approx(holding_gbp / total_after)
    assert sec["outcome"] == "block" and "AAA" in sec["message"] and "G1" in sec["message"]
    # Cash moves in the trade's currency: USD goes from 0 to -1,050 while GBP is untouched.
    assert od["before"] == 0 and od["after"] == pytest.approx(-1_050) and "-1,050.00 USD" in od["message"]
    assert mc["before"] == pytest.approx(1_000 / 6_000)
    assert mc["after"] == pytest.approx((1_000 - paid_gbp) / total_after)


def test_orders_of_one_account_are_projected_together(minibook: Database) -> None:
    """Two sells that each fit but together go short; a buy in the same batch restores it."""
    r = [rule("no_short")]
    with minibook.session() as s:
        run = run_check(
            s,
            [OrderIntent("U1", "AAA", "sell", Decimal(60)), OrderIntent("U1", "AAA", "sell", Decimal(60))],
            rules=r,
        )
        assert [run.outcome(i) for i in range(2)] == ["block", "block"]
        assert run.result(0, 0)["after"] == -20
        run = run_check(s, [OrderIntent("U1", "AAA", "sell", Decimal(60)), OrderIntent("U1", "AAA", "sell", Decimal(60)),
                            OrderIntent("U1", "AAA", "buy", Decimal(20))], rules=r)  # fmt: skip
        assert [run.outcome(i) for i in range(3)] == ["pass", "pass", "pass"]


def test_book_check_lists_breaches_with_numbers(minibook: Database) -> None:
    rules = [rule("security_weight_max", max_weight=0.55, code="SEC"), rule("issuer_weight_max", "soft", max_weight=0.75, code="ISS"),
             rule("client_restriction", code="CLI"), rule("fat_finger", max_pct=0.1, code="FF")]  # fmt: skip
    with minibook.session() as s:
        breaches = scan(load_book(s), rules, s)
    got = {(b.account, b.rule, b.subject): b for b in breaches}
    assert set(got) == {("G1", "SEC", "CCC"), ("G1", "ISS", "Gamma plc"), ("U1", "ISS", "Alpha Inc")}
    g = got[("G1", "SEC", "CCC")]
    assert g.value == pytest.approx(5_000 / 6_000) and g.outcome == "block" and "83.33%" in g.message
    assert got[("U1", "ISS", "Alpha Inc")].value == pytest.approx(0.80)


def test_cap_breached_passively_by_a_price_move(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import migrated
    from tests.engine.compliance.minibook import build_minibook

    db = migrated(f"sqlite:///{tmp_path / 'p.db'}")
    build_minibook(db)
    rules = [rule("security_weight_max", "soft", max_weight=0.55, code="SEC")]
    with db.session() as s:
        assert [b for b in scan(load_book(s), rules, s) if b.account == "U1"] == []
    with db.transaction() as s:  # AAA closes at 130 instead of 100 on the as-of date
        aaa = s.scalar(select(Security.id).where(Security.symbol == "AAA"))
        s.execute(
            update(PriceBar)
            .where(PriceBar.security_id == aaa, PriceBar.date == date(2026, 10, 30))
            .values(close=Decimal(130))
        )
    with db.session() as s:
        (b,) = [b for b in scan(load_book(s), rules, s) if b.account == "U1"]
    assert b.subject == "AAA" and b.value == pytest.approx(13_000 / 23_000) and "56.52%" in b.message
    db.dispose()


def test_book_check_service_needs_its_permission_and_can_target_accounts(minibook: Database) -> None:
    with minibook.session() as s:
        book, breaches = book_check(s, "co1", account_codes=["U1"])
        assert book.n_accounts == 1 and all(b.account == "U1" for b in breaches)
        # Default rules: U1 holds 50% AAA (10% cap) and 80% Alpha Inc (12% cap).
        assert {b.rule for b in breaches} >= {"SEC-WEIGHT", "ISSUER-WEIGHT"}
    with pytest.raises(PermissionDenied), minibook.session() as s:
        book_check(s, "tr1")


def test_post_trade_watcher_checks_accounts_after_a_fill(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.compliance.watch import PostTradeBreaches, PostTradeWatcher
    from engine.events import EventBus
    from engine.oms.events import OrderChanged
    from engine.oms.tables import Order
    from engine.store.accounts import Account
    from tests.conftest import migrated
    from tests.engine.compliance.minibook import build_minibook

    db = migrated(f"sqlite:///{tmp_path / 'w.db'}")
    build_minibook(db)
    with db.transaction() as s:
        o = Order(cl_ord_id="F1", account_id=s.scalar(select(Account.id).where(Account.code == "U1")),
                  security_id=s.scalar(select(Security.id).where(Security.symbol == "AAA")), side="buy",
                  quantity=Decimal(1), order_type="market", time_in_force="day", currency="USD", status="filled")  # fmt: skip
        s.add(o)
        s.flush()
        oid = o.id
    bus = EventBus()
    seen: list[PostTradeBreaches] = []
    bus.subscribe(PostTradeBreaches, seen.append)
    watcher = PostTradeWatcher(db, bus)
    z = Decimal(0)
    bus.publish(OrderChanged(order_id=oid, cl_ord_id="F1", status="new", cum_qty=z, leaves_qty=z, avg_px=z))
    assert seen == []
    bus.publish(
        OrderChanged(order_id=oid, cl_ord_id="F1", status="filled", cum_qty=z, leaves_qty=z, avg_px=z)
    )
    watcher.close()
    assert len(seen) == 1 and seen[0].accounts == ("U1",)
    assert {b.rule for b in seen[0].breaches} >= {"SEC-WEIGHT", "ISSUER-WEIGHT"}
    assert all(b.account == "U1" for b in seen[0].breaches)
    assert bus.subscriber_count(OrderChanged) == 0
    db.dispose()


def test_proposal_fx_funding_counts_in_the_cash_projection(book_db: Database) -> None:
    from engine.compliance import approvals
    from engine.compliance.projection import fx_legs_from_trades
    from engine.compliance.tables import CheckResult
    from engine.rebalance.tables import Proposal
    from engine.store.accounts import Account

    fx = [{"currency": "USD", "side": "buy", "amount": 500.0, "against": "GBP", "rate": USD_IN_GBP,
           "base_amount": 500.0 * USD_IN_GBP}]  # fmt: skip
    orders = [OrderIntent("G1", "AAA", "buy", Decimal(5))]
    rules = [
        rule("cash_overdraft", code="OD"),
        rule("min_cash", min_fraction=0.5, use_account=False, code="MC"),
    ]
    with book_db.session() as s:
        bare = run_check(s, orders, rules=rules)
        funded = run_check(s, orders, rules=rules, fx_legs=fx_legs_from_trades("G1", fx))
    assert bare.result(0, 0)["after"] == pytest.approx(-500) and bare.result(0, 0)["outcome"] == "block"
    assert funded.result(0, 0)["after"] == pytest.approx(0) and funded.result(0, 0)["outcome"] == "pass"
    # Cash across currencies after funding: 1,000 GBP - 386.36 GBP + 0 USD, of an unchanged total.
    assert funded.result(1, 0)["after"] == pytest.approx((1_000 - 500 * USD_IN_GBP) / 6_000)
    with book_db.transaction() as s:
        g1 = s.scalar(select(Account.id).where(Account.code == "G1"))
        p = Proposal(batch_id="B1", account_id=g1, mode="rebalance", status="proposed", created_by="pm1",
                     payload={"trades": [{"symbol": "AAA", "side": "buy", "quantity": 5.0}], "fx_trades": fx})  # fmt: skip
        s.add(p)
        s.flush()
        case = approvals.submit(s, "pm2", "proposal", p.id)
        od = s.scalar(
            select(CheckResult.outcome).where(
                CheckResult.entity == "proposal", CheckResult.rule_code == "OVERDRAFT"
            )
        )
    assert case.created_by == "pm1" and case.outcome == "block"  # G1's KYC has expired: buys are blocked
    assert od == "pass"  # the proposal's own FX trade funds the USD buy
