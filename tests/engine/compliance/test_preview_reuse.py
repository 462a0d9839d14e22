"""The ticket's preview check answers Send's create only while nothing it read has changed
(engine.compliance.preview), on the hand-made mini book (tests/engine/compliance/minibook.py).

U1 (USD) is worth 20,000: AAA 100 @ 100 = 10,000, AAB 6,000, cash 4,000. The order: U1 buys 10
AAA at market (1,000 USD), AAA's weight after it 11,000 / 20,000 = 0.55, under the 0.56 cap; a
second order buys 500 HKX at 20 HKD = 10,000 HKD = 10,000 / 8.5 x 1.10 = 1,294.12 USD, under a
1,500 USD order limit (AAA's 1,000 USD too). Each test previews, changes one thing the check reads, sends, and expects the
full check to run again and block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from engine.clock import ManualClock
from engine.compliance import preview
from engine.compliance.checker import ComplianceChecker
from engine.compliance.lists import add_entry
from engine.compliance.rules import save_rule
from engine.compliance.tables import CheckResult, RuleAssignment, RuleVersion
from engine.compliance.templates import get_template
from engine.compose import build_order_manager
from engine.oms.drafts import OrderDraft
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.people import User
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.compliance.minibook import AS_OF, build_minibook

NOW = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
FIRM = [("firm", None)]


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    build_minibook(database)
    with database.transaction() as s:  # only these four rules: the migration's defaults go
        s.execute(delete(RuleAssignment))
        s.execute(delete(RuleVersion))
        s.add(User(username="tr2", display_name="TR2", role="trader"))
        for code, template, params in (
            ("WEIGHT", "security_weight_max", {"max_weight": 0.56}),
            ("NOTIONAL", "order_notional_max", {"max_notional": 1500.0, "currency": "USD"}),
            ("RESTRICTED", "restricted_list", {}),
            ("DUPLICATE", "duplicate_order", {"window_seconds": 60.0}),
        ):
            save_rule(
                s, "co1", code, template, "hard", get_template(template).validate(params), date(2020, 1, 1),
                "test", assign=FIRM,
            )  # fmt: skip
    preview.forget()
    yield database
    preview.forget()


def oms_and_clock(db: Database) -> tuple[OrderManager, ManualClock]:
    clock = ManualClock(NOW)
    return build_order_manager(db, clock=clock), clock


def previewed(db: Database, clock: ManualClock, *intents: OrderIntent) -> list[str]:
    with db.session() as s:
        out = ComplianceChecker(clock=clock, persist=False, remember=True).check(s, list(intents), "tr1")
    return [o.outcome for o in out]


AAA = OrderIntent("U1", "AAA", "buy", Decimal(10), ref="ticket:U1")
HKX = OrderIntent("U1", "HKX", "buy", Decimal(500), ref="ticket:U1")


def send(oms: OrderManager, o: OrderIntent, user: str = "tr1") -> tuple[str, bool]:
    (oid,) = oms.create([OrderDraft(o.account, o.symbol, o.side, o.quantity)], user)
    with oms.ctx.database.session() as s:
        status = str(s.get(Order, oid).status)  # type: ignore[union-attr]
    return status, oms.ctx.checker.last_reused  # type: ignore[attr-defined]


def test_unchanged_book_reuses_the_preview_and_stores_its_results(book: Database) -> None:
    oms, clock = oms_and_clock(book)
    assert previewed(book, clock, AAA) == ["pass"]
    clock.advance(timedelta(seconds=2))
    assert send(oms, AAA) == ("released", True)
    with book.session() as s:
        rules = set(s.scalars(select(CheckResult.rule_code).where(CheckResult.symbol == "AAA")))
    assert rules == {"WEIGHT", "NOTIONAL", "RESTRICTED", "DUPLICATE"}
    # answered once: the same terms again are checked in full (and now a duplicate)
    assert send(oms, AAA) == ("rejected", False)


def _price(s, sym: str, close: int) -> None:  # type: ignore[no-untyped-def]
    sid = s.scalar(select(Security.id).where(Security.symbol == sym))
    s.execute(update(PriceBar).where(PriceBar.security_id == sid, PriceBar.date == AS_OF).values(close=close))


def _lot(s) -> None:  # type: ignore[no-untyped-def]
    u1 = s.scalar(select(Account.id).where(Account.code == "U1"))
    aaa = s.scalar(select(Security.id).where(Security.symbol == "AAA"))
    s.add(TaxLot(account_id=u1, security_id=aaa, lot_ref="L9", quantity=Decimal(20), unit_cost=Decimal(100),
                 acquired=date(2026, 10, 29), fx_rate=Decimal(1)))  # fmt: skip


CHANGES: dict[str, tuple[OrderIntent, Callable[..., None]]] = {
    # AAA at 120: (12,000 + 1,200) / 22,000 = 0.60 > 0.56
    "a price": (AAA, lambda s: _price(s, "AAA", 120)),
    # EUR/HKD 8.5 -> 6.5: 10,000 / 6.5 x 1.10 = 1,692.31 USD > 1,500
    "an FX rate": (
        HKX,
        lambda s: s.execute(
            update(FxRate).where(FxRate.quote == "HKD", FxRate.date == AS_OF).values(rate=Decimal("6.5"))
        ),
    ),
    # 20 more AAA: (12,000 + 1,000) / 22,000 = 0.59 > 0.56
    "a lot booked": (AAA, _lot),
    # the cap lowered to 0.50 < 0.55
    "a rule edited": (
        AAA,
        lambda s: save_rule(
            s,
            "co1",
            "WEIGHT",
            "security_weight_max",
            "hard",
            {"max_weight": 0.5},
            date(2020, 1, 1),
            "tighter",
        ),
    ),
    "a restriction": (AAA, lambda s: add_entry(s, "co1", "restricted", "AAA", date(2020, 1, 1), "test")),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_between_preview_and_send_is_checked_again_and_blocks(book: Database, change: str) -> None:
    intent, mutate = CHANGES[change]
    oms, clock = oms_and_clock(book)
    assert previewed(book, clock, intent) == ["pass"]
    with book.transaction() as s:
        mutate(s)
    clock.advance(timedelta(seconds=2))
    before = dict(preview.stats)
    assert send(oms, intent) == ("rejected", False)
    assert preview.stats["checked_again"] == before["checked_again"] + 1


def test_another_open_order_between_preview_and_send_blocks_as_a_duplicate(book: Database) -> None:
    oms, clock = oms_and_clock(book)
    assert previewed(book, clock, AAA) == ["pass"]
    assert send(oms, AAA, user="tr2") == ("released", False)  # another trader, the same order
    clock.advance(timedelta(seconds=2))
    assert send(oms, AAA) == ("rejected", False)


def test_a_duplicate_window_sliding_past_an_order_checks_again(book: Database) -> None:
    """An identical order 30 s before the preview blocks it; 40 s later the 60 s window no longer
    sees it, so Send checks again and passes (the preview's block is not reused)."""
    oms, clock = oms_and_clock(book)
    assert send(oms, AAA, user="tr2") == ("released", False)
    with book.transaction() as s:  # orders are stamped by the wall clock: put it 30 s before NOW
        s.execute(update(Order).values(created_at=NOW - timedelta(seconds=30)))
    assert previewed(book, clock, AAA) == ["block"]
    clock.advance(timedelta(seconds=40))
    assert send(oms, AAA) == ("released", False)


def test_a_new_day_or_a_clock_gone_back_checks_again(book: Database) -> None:
    oms, clock = oms_and_clock(book)
    clock.set(datetime(2026, 10, 30, 23, 59, 59, tzinfo=UTC))
    assert previewed(book, clock, HKX) == ["pass"]
    clock.set(datetime(2026, 10, 31, 0, 0, 1, tzinfo=UTC))
    assert send(oms, HKX)[1] is False
    clock.set(NOW)
    assert previewed(book, clock, AAA) == ["pass"]
    clock.set(NOW - timedelta(seconds=1))
    assert send(oms, AAA)[1] is False


def test_other_orders_or_another_user_never_get_the_preview(book: Database) -> None:
    oms, clock = oms_and_clock(book)
    assert previewed(book, clock, AAA) == ["pass"]
    before = dict(preview.stats)
    assert send(oms, OrderIntent("U1", "AAA", "buy", Decimal(11)))[1] is False  # other terms
    assert send(oms, AAA, user="tr2")[1] is False  # the preview was tr1's
    assert preview.stats == before  # neither even looked at it: it waits for tr1's very orders
    assert len(preview._memo) == 1


def test_the_tickets_own_check_is_what_send_reuses(book: Database) -> None:
    from engine.ticket.service import TicketRequest, check, plan
    from engine.ticket.sizing import Size

    oms, clock = oms_and_clock(book)
    req = TicketRequest("accounts", ("U1",), "AAA", "buy", Size("quantity", Decimal(10)))
    with book.session() as s:
        p = check(s, plan(s, req, clock), "tr1", clock)
    assert [(ln.account, ln.quantity, ln.outcome) for ln in p.lines] == [("U1", Decimal(10), "pass")]
    ids = oms.create(p.drafts(), "tr1")
    assert oms.ctx.checker.last_reused is True  # type: ignore[attr-defined]
    with book.session() as s:
        assert str(s.get(Order, ids[0]).status) == "released"  # type: ignore[union-attr]


def test_rows_the_session_already_held_are_read_again_and_recorded(book: Database) -> None:
    """The ticket reads the as-of date before its check: the preview must still record that read,
    or a new as-of date would not change the digest."""
    from engine.store.meta import BookMeta

    _oms, clock = oms_and_clock(book)
    with book.session() as s:
        meta = s.get(BookMeta, "as_of")  # held: it stays in the session's identity map
        ComplianceChecker(clock=clock, persist=False, remember=True).check(s, [AAA], "tr1")
        assert meta is not None
    (p,) = preview._memo.values()
    assert any("FROM book_meta" in sql for sql, _params in p.reads)
