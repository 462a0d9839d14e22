"""Every rule template on its pass side and its fail side, with the numbers in the message.

Expected numbers are worked out by hand from the mini book (see minibook.py): U1 is worth
20,000 USD (AAA 10,000, AAB 6,000, cash 4,000); G1 is worth 6,000 GBP.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.compliance.checker import run_check
from engine.compliance.tables import ListEntry
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security
from tests.engine.compliance.minibook import GBPUSD, rule

NOW = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)


def o(
    account: str, symbol: str, side: str, q: float, limit: float | None = None, ref: str = ""
) -> OrderIntent:
    return OrderIntent(
        account, symbol, side, Decimal(str(q)), "limit" if limit else "market",
        Decimal(str(limit)) if limit else None, ref,
    )  # fmt: skip


def check(db: Database, orders: list[OrderIntent], r: Any) -> list[dict[str, Any]]:
    """The single rule's result on each order."""
    with db.session() as s:
        run = run_check(s, orders, rules=[r], now=NOW)
        return [run.result(0, i) for i in range(len(orders))]


def test_security_weight_cap(minibook: Database) -> None:
    fail, ok = check(
        minibook, [o("U1", "AAA", "buy", 20)], rule("security_weight_max", "soft", max_weight=0.55)
    ) + check(minibook, [o("U1", "AAA", "buy", 2)], rule("security_weight_max", "soft", max_weight=0.55))
    assert fail["outcome"] == "flag"
    assert (
        fail["before"] == pytest.approx(0.50)
        and fail["after"] == pytest.approx(0.60)
        and fail["limit"] == 0.55
    )
    assert "60.00%" in fail["message"] and "55.00%" in fail["message"] and "50.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(10_200 / 20_000)
    assert "51.00%" in ok["message"]


def test_issuer_weight_cap_sums_issuers_securities(minibook: Database) -> None:
    r = rule("issuer_weight_max", max_weight=0.75)
    fail, ok = check(minibook, [o("U1", "AAA", "buy", 10), o("U2", "AAA", "buy", 1)], r)
    assert (
        fail["outcome"] == "block"
        and fail["before"] == pytest.approx(0.80)
        and fail["after"] == pytest.approx(0.85)
    )
    assert "Alpha Inc" in fail["message"] and "85.00%" in fail["message"] and "75.00%" in fail["message"]
    (sell,) = check(minibook, [o("U1", "AAB", "sell", 20)], r)
    assert sell["outcome"] == "pass" and sell["after"] == pytest.approx(0.70)
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(100 / 10_000)


def test_sector_cap_on_one_named_sector(minibook: Database) -> None:
    r = rule("sector_weight_max", "soft", max_weight=0.05, sector="Energy")
    fail, ok, other = check(
        minibook, [o("U1", "BBB", "buy", 30), o("U2", "BBB", "buy", 10), o("U1", "AAA", "buy", 1)], r
    )
    assert fail["outcome"] == "flag" and fail["after"] == pytest.approx(1_500 / 20_000)
    assert "7.50%" in fail["message"] and "5.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(500 / 10_000)
    assert other["outcome"] == "pass" and "does not apply" in other["message"]


def test_country_cap(minibook: Database) -> None:
    r = rule("country_weight_max", "info", max_weight=0.9)
    (fail,) = check(minibook, [o("U1", "AAA", "buy", 30)], r)
    (ok,) = check(minibook, [o("U1", "AAA", "buy", 5)], r)
    assert (
        fail["outcome"] == "warn"
        and fail["before"] == pytest.approx(0.80)
        and fail["after"] == pytest.approx(0.95)
    )
    assert "95.00%" in fail["message"] and "90.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(0.825)


def test_currency_cap_across_currencies(minibook: Database) -> None:
    r = rule("currency_weight_max", "soft", max_weight=0.05, currency="GBP")
    (fail,) = check(minibook, [o("U1", "CCC", "buy", 100)], r)
    (ok,) = check(minibook, [o("U1", "CCC", "buy", 50)], r)
    gbp_value_usd = 1_000 * GBPUSD  # 100 x 10 GBP in USD
    assert fail["outcome"] == "flag" and fail["after"] == pytest.approx(gbp_value_usd / 20_000)
    assert "6.47%" in fail["message"] and "5.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(gbp_value_usd / 2 / 20_000)


def test_esg_exclusion_by_flag(minibook: Database) -> None:
    fail, ok = check(minibook, [o("U1", "BBB", "buy", 10), o("U1", "AAA", "buy", 10)], rule("esg_exclusion"))
    assert (
        fail["outcome"] == "block" and "fossil_fuels" in fail["message"] and "500.00 USD" in fail["message"]
    )
    assert ok["outcome"] == "pass" and "1,000.00 USD" in ok["message"]


def test_esg_minimum_score(minibook: Database) -> None:
    fail, ok = check(
        minibook, [o("U1", "BBB", "buy", 10), o("U1", "AAA", "buy", 10)], rule("esg_min_score", "soft")
    )
    assert fail["outcome"] == "flag" and fail["after"] == 30 and fail["limit"] == 40
    assert "30.0" in fail["message"] and "40.0" in fail["message"]
    assert ok["outcome"] == "pass" and "70.0" in ok["message"]


def test_restricted_list_firm_and_account_with_effective_dates(tmp_path: Any) -> None:
    from tests.conftest import migrated
    from tests.engine.compliance.minibook import build_minibook

    db = migrated(f"sqlite:///{tmp_path / 'r.db'}")
    build_minibook(db)
    with db.transaction() as s:
        s.add(ListEntry(list_kind="restricted", symbol="AAA", account_code=None, effective_from=date(2026, 10, 1),
                        reason="inside information", added_by="co1"))  # fmt: skip
        s.add(ListEntry(list_kind="restricted", symbol="BBB", account_code=None, effective_from=date(2026, 11, 15),
                        added_by="co1"))  # fmt: skip
        s.add(ListEntry(list_kind="restricted", symbol="CCC", account_code="U1", effective_from=date(2026, 1, 1),
                        added_by="co1"))  # fmt: skip
    orders = [
        o("U1", "AAA", "sell", 10),
        o("U1", "BBB", "buy", 1),
        o("U1", "CCC", "buy", 1),
        o("G1", "CCC", "sell", 1),
    ]
    firm, future, acct, other = check(db, orders, rule("restricted_list"))
    assert (
        firm["outcome"] == "block"
        and "2026-10-01" in firm["message"]
        and "inside information" in firm["message"]
    )
    assert "1,000.00 USD" in firm["message"]
    assert future["outcome"] == "pass"  # effective only from 2026-11-15
    assert acct["outcome"] == "block" and "of U1" in acct["message"]
    assert other["outcome"] == "pass"
    db.dispose()


def test_no_short(minibook: Database) -> None:
    fail, ok = check(minibook, [o("U1", "AAA", "sell", 150), o("U1", "AAB", "sell", 60)], rule("no_short"))
    assert fail["outcome"] == "block" and fail["before"] == 100 and fail["after"] == -50
    assert "short 50" in fail["message"] and "holds 100" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == 0


def test_cash_overdraft_in_the_trade_currency(minibook: Database) -> None:
    r = rule("cash_overdraft", "soft")
    (fail,) = check(minibook, [o("U1", "AAA", "buy", 50)], r)
    (ok,) = check(minibook, [o("U1", "AAA", "buy", 30)], r)
    assert fail["outcome"] == "flag" and fail["before"] == 4_000 and fail["after"] == -1_000
    assert "-1,000.00 USD" in fail["message"] and "4,000.00 USD" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == 1_000
    # G1 has no USD at all: a USD buy overdraws USD although it has GBP.
    (g,) = check(minibook, [o("G1", "AAA", "buy", 1)], r)
    assert g["outcome"] == "flag" and g["after"] == -100 and "USD" in g["message"]


def test_min_cash_uses_account_floor(minibook: Database) -> None:
    r = rule("min_cash", "soft")
    (fail,) = check(minibook, [o("U1", "AAA", "buy", 38)], r)
    (ok,) = check(minibook, [o("U1", "AAA", "buy", 30)], r)
    assert fail["outcome"] == "flag" and fail["limit"] == pytest.approx(0.02)
    assert fail["before"] == pytest.approx(0.20) and fail["after"] == pytest.approx(200 / 20_000)
    assert "1.00%" in fail["message"] and "2.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(0.05)


def test_adv_percentage(minibook: Database) -> None:
    fail, ok = check(
        minibook, [o("U1", "AAA", "buy", 2_500), o("U1", "AAA", "buy", 1_000)], rule("adv_max", max_pct=0.2)
    )
    assert fail["outcome"] == "block" and fail["after"] == pytest.approx(0.25)
    assert "25.00%" in fail["message"] and "10,000" in fail["message"] and "20.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(0.10)


def test_fat_finger(minibook: Database) -> None:
    r = rule("fat_finger", max_pct=0.1)
    fail, ok, market = check(
        minibook, [o("U1", "AAA", "buy", 1, 115), o("U1", "AAA", "sell", 1, 95), o("U1", "AAA", "buy", 1)], r
    )
    assert fail["outcome"] == "block" and fail["after"] == pytest.approx(0.15) and fail["before"] == 100
    assert "115.00 USD" in fail["message"] and "15.00%" in fail["message"] and "10.00%" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(0.05)
    assert market["outcome"] == "pass" and "100.00 USD" in market["message"]


def test_order_quantity_limit(minibook: Database) -> None:
    fail, ok = check(
        minibook,
        [o("U1", "AAA", "buy", 1500), o("U1", "AAA", "buy", 500)],
        rule("order_quantity_max", max_quantity=1000),
    )
    assert fail["outcome"] == "block" and "1,500" in fail["message"] and "1,000" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == 500


def test_order_notional_limit_in_another_currency(minibook: Database) -> None:
    r = rule("order_notional_max", max_notional=5_000, currency="EUR")
    fail, ok = check(minibook, [o("U1", "AAA", "buy", 60), o("U1", "AAA", "buy", 50)], r)
    assert fail["outcome"] == "block" and fail["after"] == pytest.approx(6_000 / 1.10)
    assert "5,454.55 EUR" in fail["message"] and "5,000.00 EUR" in fail["message"]
    assert ok["outcome"] == "pass" and ok["after"] == pytest.approx(5_000 / 1.10)


def _order(
    s: Any, account: str, symbol: str, side: str, q: int, cl: str, created: datetime, status: str = "released"
) -> None:
    s.add(
        Order(
            cl_ord_id=cl, account_id=s.query(Account.id).filter_by(code=account).scalar(),
            security_id=s.query(Security.id).filter_by(symbol=symbol).scalar(), side=side, quantity=Decimal(q),
            order_type="market", time_in_force="day", currency="USD", status=status, created_at=created,
        )
    )  # fmt: skip


def test_duplicate_order_in_batch_and_against_recent_orders(book_db: Database) -> None:
    with book_db.transaction() as s:
        _order(s, "U1", "AAB", "buy", 7, "C1", NOW.replace(second=0) if NOW.second >= 30 else NOW)
        _order(s, "U1", "BBB", "buy", 7, "C2", NOW.replace(hour=14))  # an hour ago: outside 60 s
    r = rule("duplicate_order", "soft", window_seconds=60)
    orders = [o("U1", "AAA", "buy", 5), o("U1", "AAA", "buy", 5), o("U1", "AAA", "buy", 6), o("U1", "AAB", "buy", 7),
              o("U1", "BBB", "buy", 7)]  # fmt: skip
    first, second, other_qty, vs_db, old = check(book_db, orders, r)
    assert first["outcome"] == "pass" and second["outcome"] == "flag" and second["after"] == 1
    assert "1 identical order" in second["message"] and "60 seconds" in second["message"]
    assert other_qty["outcome"] == "pass"
    assert vs_db["outcome"] == "flag"
    assert old["outcome"] == "pass"


def test_daily_notional_per_account_counts_todays_orders(book_db: Database) -> None:
    with book_db.transaction() as s:
        _order(s, "U1", "AAA", "buy", 80, "T1", NOW.replace(hour=9))  # 8,000 USD today
        _order(s, "U1", "AAA", "buy", 50, "T2", NOW.replace(hour=9), status="rejected")  # does not count
    r = rule("daily_notional_account", "soft", max_notional=10_000)
    (fail,) = check(book_db, [o("U1", "AAA", "buy", 30)], r)
    (ok,) = check(book_db, [o("U1", "AAA", "buy", 10)], r)
    assert fail["outcome"] == "flag" and fail["before"] == 8_000 and fail["after"] == 11_000
    assert (
        "8,000.00 USD" in fail["message"]
        and "11,000.00 USD" in fail["message"]
        and "10,000.00 USD" in fail["message"]
    )
    assert ok["outcome"] == "pass" and ok["after"] == 9_000


def test_daily_notional_per_desk_accumulates_across_accounts(minibook: Database) -> None:
    r = rule("daily_notional_desk", max_notional=5_000)
    first, second, nodesk = check(
        minibook, [o("U1", "AAA", "buy", 30), o("U2", "AAA", "buy", 30), o("G1", "CCC", "sell", 1)], r
    )
    assert first["outcome"] == "pass" and first["after"] == 3_000
    assert second["outcome"] == "block" and second["before"] == 3_000 and second["after"] == 6_000
    assert "Desk D1" in second["message"] and "6,000.00 USD" in second["message"]
    assert nodesk["outcome"] == "pass" and "no desk" in nodesk["message"]


def test_wash_sale_loss_with_recent_purchase(minibook: Database) -> None:
    r = rule("wash_sale", "soft")
    loss, gain, gb = check(
        minibook, [o("U1", "AAB", "sell", 50), o("U1", "AAA", "sell", 50), o("G1", "CCC", "sell", 10)], r
    )
    avg_cost = (50 * 120 + 10 * 100) / 60
    assert loss["outcome"] == "flag" and loss["after"] == pytest.approx((avg_cost - 100) * 50)
    assert "833.33 USD" in loss["message"] and "10 days ago" in loss["message"]
    assert gain["outcome"] == "pass"
    assert gb["outcome"] == "pass" and "not a US taxable" in gb["message"]
    # a buy in another account of the same household while U1 sells at a loss
    sell, buy = check(minibook, [o("U1", "AAA", "sell", 10, 70), o("U2", "AAA", "buy", 10)], r)
    assert sell["outcome"] == "flag" and "bought in this same batch" in sell["message"]
    # U2 is an IRA in the same household: its purchase still replaces the shares (Rev. Rul. 2008-5).
    assert buy["outcome"] == "flag" and "sells at a loss in this batch" in buy["message"]


def test_wash_sale_buy_after_a_loss_sale_booked_by_accounting(book_db: Database) -> None:
    from engine.accounting.tables import Booking, RealizedGain

    with book_db.transaction() as s:
        u1 = s.scalar(select(Account.id).where(Account.code == "U1"))
        bbb = s.scalar(select(Security.id).where(Security.symbol == "BBB"))
        b = Booking(source_ref="S1", kind="trade", account_id=u1, security_id=bbb, side="sell", quantity=Decimal(10),
                    price=Decimal(50), currency="USD", trade_date=date(2026, 10, 20))  # fmt: skip
        s.add(b)
        s.flush()
        s.add(
            RealizedGain(booking_id=b.id, account_id=u1, security_id=bbb, lot_ref="X", quantity=Decimal(10),
                         acquired=date(2025, 1, 1), sold=date(2026, 10, 20), currency="USD", base_currency="USD",
                         proceeds_local=Decimal(500), cost_local=Decimal(800), proceeds_base=Decimal(500),
                         cost_base=Decimal(800), gain_base=Decimal(-300), price_gain_base=Decimal(-300),
                         fx_gain_base=Decimal(0), term="long")
        )  # fmt: skip
    r = rule("wash_sale", "soft")
    ira, other, gb = check(
        book_db, [o("U2", "BBB", "buy", 5), o("U2", "AAA", "buy", 5), o("G1", "BBB", "buy", 5)], r
    )
    assert ira["outcome"] == "flag" and "300.00 USD" in ira["message"] and "2026-10-20" in ira["message"]
    assert other["outcome"] == "pass" and gb["outcome"] == "pass"


def test_market_restriction_by_jurisdiction(minibook: Database) -> None:
    r = rule("market_restriction", jurisdictions=["US"], mics=["XHKG"])
    fail, ok = check(minibook, [o("U1", "HKX", "buy", 100), o("G1", "HKX", "buy", 100)], r)
    assert fail["outcome"] == "block" and "XHKG" in fail["message"]
    assert "258.82 USD" in fail["message"]  # 100 x 20 HKD at 1.10 / 8.5 USD per HKD
    assert ok["outcome"] == "pass"


def test_kyc_expired_may_only_sell(minibook: Database) -> None:
    fail, ok, fine = check(
        minibook,
        [o("G1", "CCC", "buy", 10), o("G1", "CCC", "sell", 10), o("U1", "AAA", "buy", 1)],
        rule("kyc_sell_only"),
    )
    assert fail["outcome"] == "block" and "expired" in fail["message"] and "30 days" in fail["message"]
    assert ok["outcome"] == "pass"
    assert fine["outcome"] == "pass" and "approved" in fine["message"]


def test_client_type_restriction(minibook: Database) -> None:
    fail, ok = check(
        minibook, [o("U1", "PRO", "buy", 10), o("G1", "PRO", "buy", 10)], rule("client_restriction")
    )
    assert fail["outcome"] == "block" and "professional" in fail["message"] and "retail" in fail["message"]
    assert "1,000.00 USD" in fail["message"]
    assert ok["outcome"] == "pass"


def test_every_template_is_covered() -> None:
    from engine.compliance.templates import TEMPLATES

    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert len(TEMPLATES) >= 20 and len(tested) >= len(TEMPLATES)


def test_money_in_a_rules_sentence_carries_its_currencys_minor_units() -> None:
    """ISO 4217: whole yen, three decimals for dinars, half-even as the ledger rounds."""
    from engine.compliance.fmt import money

    assert money(1_234_567.5, "JPY") == "1,234,568 JPY"
    assert money(1_234_566.5, "JPY") == "1,234,566 JPY"
    assert money(1_000.2345, "KWD") == "1,000.234 KWD"
    assert money(-1_000.0, "USD") == "-1,000.00 USD"
    assert money(float("nan"), "USD") == "n/a"
