"""A small batch's check loads only what its rules read (engine.compliance.scope), and its verdicts
and numbers are those of the same check against the full book, on SQLite and PostgreSQL.

The mini book gets more than its orders need: a third household with an account trading
securities no order touches, a replacement lot in U2 (U1's household) that makes U1's loss sale a
wash sale only when the household is loaded, and live orders of the day on securities the ordering
accounts do not hold (the desk's and the account's daily notional must still count them).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

import engine.compliance.scope as scope_mod
from engine.compliance.book import load_book
from engine.compliance.checker import run_check
from engine.compliance.rules import Rule
from engine.compliance.scope import book_scope
from engine.compliance.tables import DeskAccount, ListEntry
from engine.compliance.templates import TEMPLATES
from engine.errors import ConcurrentUpdate
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.pricing.prices import last_prices
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from tests.engine.compliance.minibook import AS_OF, rule

NOW = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)


def _rules() -> list[Rule]:
    """One rule per template (every template, so a new one is covered), severities mixed so
    hard blocks drive the batch's fixed point, some assigned to a model or a household."""
    rules = [
        rule("security_weight_max", "soft", max_weight=0.55),
        rule("issuer_weight_max", "hard", max_weight=0.80),
        rule("sector_weight_max", "info", max_weight=0.5),
        rule("country_weight_max", "soft", max_weight=0.7, country="US"),
        rule("currency_weight_max", "soft", max_weight=0.6, include_cash=True),
        rule("esg_exclusion", "hard", flags=["tobacco"]),
        rule("esg_min_score", "soft", min_score=45),
        rule("restricted_list", "hard"),
        rule("no_short", "hard"),
        rule("cash_overdraft", "hard"),
        rule("min_cash", "soft", min_fraction=0.05),
        rule("adv_max", "soft", max_pct=0.005),
        rule("fat_finger", "soft", max_pct=0.1),
        rule("order_quantity_max", "hard", max_quantity=900),
        rule("order_notional_max", "soft", max_notional=5_000, currency="USD"),
        rule("duplicate_order", "soft", window_seconds=3_600),
        rule("daily_notional_account", "soft", max_notional=9_000, currency="USD"),
        rule("daily_notional_desk", "soft", max_notional=12_000, currency="USD", desk="D1"),
        rule("wash_sale", "hard"),
        rule("market_restriction", "hard", jurisdictions=["GB"], mics=["XHKG"]),
        rule("kyc_sell_only", "hard"),
        rule("client_restriction", "hard"),
    ]
    rules[2] = dataclasses.replace(rules[2], assignments=(("model", "M1"),))
    rules[10] = dataclasses.replace(rules[10], assignments=(("household", "H1"), ("account", "G1")))
    assert {r.template for r in rules} == set(TEMPLATES)
    return rules


def _o(
    account: str, symbol: str, side: str, q: float, limit: float | None = None, ref: str = ""
) -> OrderIntent:
    return OrderIntent(
        account, symbol, side, Decimal(str(q)), "limit" if limit else "market",
        Decimal(str(limit)) if limit else None, ref,
    )  # fmt: skip


BATCHES = [
    [_o("U1", "AAA", "sell", 10, 70)],  # a loss sale: U2 (same household) bought AAA 5 days ago
    [_o("U1", "AAA", "buy", 20), _o("U1", "BBB", "buy", 5), _o("U1", "AAB", "sell", 60), _o("U1", "AAA", "buy", 20)],
    [_o("G1", "CCC", "buy", 100), _o("G1", "PRO", "buy", 1), _o("G1", "CCC", "sell", 600), _o("G1", "HKX", "buy", 5)],
    [_o("U2", "HKX", "buy", 1_000), _o("U1", "HKX", "buy", 10, 25), _o("U2", "PRO", "buy", 30)],
    [_o("U1", "AAB", "buy", 10, 99), _o("G1", "CCC", "sell", 100, 9), _o("U2", "AAA", "sell", 5), _o("U1", "CCC", "buy", 50)],
]  # fmt: skip


def _extend(db: Database) -> None:
    """More book than the batches need, and what makes the wider rules bite."""
    with db.transaction() as s:
        ids = {c: i for c, i in s.execute(select(Account.code, Account.id))}
        sec = {sym: i for sym, i in s.execute(select(Security.symbol, Security.id))}
        h3 = Household(code="H3", name="House three")
        s.add(h3)
        s.flush()
        u3 = Account(
            code="U3", name="U3", household_id=h3.id, base_currency="USD", tax_status="taxable",
            tax_jurisdiction="US", client_type="retail", kyc_status="approved", kyc_review_date=date(2027, 6, 30),
            custodian="TEST", risk_rating="medium", cash_target=Decimal("0.02"), cash_floor=Decimal("0.01"), drift_band=Decimal("0.05"),
            lot_relief="fifo", keep_legacy=False, excluded_sectors=[], domicile="onshore", esg_exclusions=[],
        )  # fmt: skip
        s.add(u3)
        s.flush()
        ids["U3"] = u3.id
        s.add(DeskAccount(account_code="U3", desk="D1"))
        s.add_all(
            [
                TaxLot(account_id=u3.id, security_id=sec["BBB"], lot_ref="L9", quantity=Decimal(40),
                       unit_cost=Decimal(55), acquired=date(2026, 10, 21), fx_rate=Decimal(1)),
                TaxLot(account_id=ids["U2"], security_id=sec["AAA"], lot_ref="L8", quantity=Decimal(5),
                       unit_cost=Decimal(99), acquired=AS_OF - timedelta(days=5), fx_rate=Decimal(1)),
                CashBalance(account_id=u3.id, currency="USD", settled=Decimal(500)),
                ListEntry(list_kind="restricted", symbol="PRO", account_code=None, effective_from=date(2026, 10, 1),
                          added_by="co1"),
                ListEntry(list_kind="restricted", symbol="CCC", account_code="U1", effective_from=date(2026, 1, 1),
                          added_by="co1"),
            ]
        )  # fmt: skip
        # today's live orders: U3 (desk D1) on BBB, U1 on PRO (a security U1 does not hold), one dead
        for cl, acct, sym, q, status in (
            ("T1", "U3", "BBB", 80, "released"),
            ("T2", "U1", "PRO", 30, "new"),
            ("T3", "U2", "HKX", 1_000, "sent"),
            ("T4", "U1", "BBB", 500, "canceled"),
        ):
            s.add(
                Order(
                    cl_ord_id=cl, account_id=ids[acct], security_id=sec[sym], side="buy", quantity=Decimal(q),
                    order_type="market", time_in_force="day", currency="USD", status=status,
                    created_at=NOW.replace(hour=9),
                )
            )  # fmt: skip


def _verdicts(run: Any) -> list[dict[str, Any]]:
    return [run.order_dict(i) for i in range(len(run.orders))]


@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_scoped_check_gives_the_full_books_verdicts(book_db: Database, batch: int) -> None:
    _extend(book_db)
    rules = _rules()
    orders = BATCHES[batch]
    with book_db.session() as s:
        full = run_check(s, orders, rules=rules, now=NOW, book=load_book(s, AS_OF))
        scoped = run_check(s, orders, rules=rules, now=NOW)
        assert scoped.book.n_accounts < full.book.n_accounts
        assert scoped.book.n_securities <= full.book.n_securities
        assert _verdicts(scoped) == _verdicts(full)
        assert scoped.rounds == full.rounds
        # the check is not vacuous: every batch has rules that do not pass
        assert any(r["outcome"] != "pass" for v in _verdicts(scoped) for r in v["results"])


def test_household_wash_sale_and_desk_limits_see_beyond_the_orders_account(book_db: Database) -> None:
    """Numbers worked out by hand: what an account-only book would get wrong."""
    _extend(book_db)
    with book_db.session() as s:
        run = run_check(
            s, [_o("U1", "AAA", "sell", 10, 70), _o("U1", "HKX", "buy", 10)], rules=_rules(), now=NOW
        )
        scope = book_scope(s, run.orders.intents, _rules(), NOW)
    res = {r["rule"]: r for r in run.results(0)}
    wash = res["WASH_SALE"]
    # cost 80 a share (lot L1), sold at 70: a 100 USD loss; U2 bought AAA 5 days ago
    assert wash["outcome"] == "block" and wash["after"] == pytest.approx(100.0)
    assert "household H1 bought 5 days ago" in wash["message"]
    desk = {r["rule"]: r for r in run.results(1)}["DAILY_NOTIONAL_DESK"]
    # desk D1 today: T1 U3 80 BBB x 50 = 4,000, T2 U1 30 PRO x 100 = 3,000, T3 U2 1,000 HKX x 20 HKD
    # = 20,000 HKD = 2,588.24 USD; the canceled T4 does not count; then U1's 700 USD sale of AAA
    # (10 x 70) and this buy 10 HKX x 20 HKD = 25.88 USD
    existing = 4_000 + 3_000 + 20_000 / 8.5 * 1.10
    assert desk["before"] == pytest.approx(existing + 700, abs=1e-6)
    assert desk["after"] == pytest.approx(existing + 700 + 200 / 8.5 * 1.10, abs=1e-6)
    assert scope is not None
    assert scope.account_codes == ["U1", "U2"]  # U1's household, not G1 or U3
    with book_db.session() as s:
        held = {sym: i for sym, i in s.execute(select(Security.symbol, Security.id))}
    # AAA, HKX (orders), AAB (U1 holds), BBB, PRO, HKX (today's live orders); not CCC
    assert scope.security_ids == sorted(held[x] for x in ("AAA", "AAB", "BBB", "HKX", "PRO"))
    assert scope.order_security_ids == sorted(held[x] for x in ("AAA", "HKX"))


def test_large_batches_and_firm_wide_rules_load_the_full_book(minibook: Database, monkeypatch: Any) -> None:
    orders = [_o("U1", "AAA", "buy", 1), _o("G1", "CCC", "buy", 1)]
    with minibook.session() as s:
        assert book_scope(s, orders, _rules(), NOW) is not None
        monkeypatch.setattr(scope_mod, "SCOPED_MAX_ACCOUNTS", 1)
        assert book_scope(s, orders, _rules(), NOW) is None
        monkeypatch.setattr(scope_mod, "SCOPED_MAX_ACCOUNTS", 200)
        firm = dataclasses.replace(TEMPLATES["no_short"], reach="firm")
        monkeypatch.setitem(TEMPLATES, "no_short", firm)
        assert book_scope(s, orders, _rules(), NOW) is None


def test_last_prices_takes_each_securitys_last_close_on_or_before_the_date(book_db: Database) -> None:
    """Against every bar read back and reduced in pandas (an independent reference)."""
    with book_db.transaction() as s:
        sec = {sym: i for sym, i in s.execute(select(Security.symbol, Security.id))}
        # AAA: a bar after the date (ignored); HKX: its last 10 bars missing (an older close)
        s.add(
            PriceBar(security_id=sec["AAA"], date=AS_OF + timedelta(days=1), close=Decimal(999), source="t")
        )
        for bar in s.scalars(
            select(PriceBar).where(
                PriceBar.security_id == sec["HKX"], PriceBar.date >= AS_OF - timedelta(days=10)
            )
        ):
            if bar.date > AS_OF - timedelta(days=10):
                s.delete(bar)
            else:
                bar.close = Decimal("21.5")
    with book_db.session() as s:
        bars = pd.DataFrame(
            s.execute(select(PriceBar.security_id, PriceBar.date, PriceBar.close)).all(),
            columns=["security_id", "date", "close"],
        )
        for day in (AS_OF, AS_OF - timedelta(days=3)):
            ref = (
                bars[bars["date"] <= day]
                .sort_values("date")
                .groupby("security_id")
                .tail(1)
                .set_index("security_id")
            )
            got = last_prices(s, day)
            assert sorted(got.index) == sorted(ref.index)
            for sid, row in ref.iterrows():
                assert got.loc[sid, "date"] == row["date"] and got.loc[sid, "close"] == float(row["close"])
            some = [sec["AAA"], sec["HKX"]]
            assert last_prices(s, day, some).to_dict() == got.loc[sorted(some)].to_dict()
        assert last_prices(s, AS_OF).loc[sec["HKX"], "close"] == 21.5


def test_a_scoped_book_missing_a_held_security_refuses_rather_than_drop_the_position(
    minibook: Database,
) -> None:
    """The scope covers every holding; if a lot appears between its queries, the check fails closed."""
    with minibook.session() as s:
        sec = {sym: i for sym, i in s.execute(select(Security.symbol, Security.id))}
        with pytest.raises(ConcurrentUpdate, match="book changed"):
            load_book(s, AS_OF, ["U1"], [sec["AAA"]])  # U1 also holds AAB
        book = load_book(s, AS_OF, ["U1"], [sec["AAA"], sec["AAB"]])
        assert book.n_accounts == 1 and book.n_securities == 2 and sorted(book.pos_q) == [60.0, 100.0]
