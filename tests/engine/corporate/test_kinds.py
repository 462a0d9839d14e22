"""Each kind of corporate action against hand-computed references: lots keep their acquisition
dates, fractions are paid in lieu as sales with the lot's holding period, basis is conserved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from engine.accounting.cash import cash_positions
from engine.accounting.tables import CashMovement, CorporateAction
from engine.corporate.terms import ActionTerms
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security
from tests.engine.corporate.conftest import EX, PAY, announce, book_on, buy, gains, lots, sell

D = Decimal


def unsettled(db: Database, account: str) -> dict[str, Decimal]:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == account)).one()
        return {c.currency: c.unsettled for c in cash_positions(s, aid)}


def basis(rows: list[tuple[str, str, Decimal, Decimal, date]]) -> Decimal:
    return sum((q * c for _, _, q, c, _ in rows), D(0))


def test_three_for_two_split_pays_the_fraction_in_lieu_as_a_sale_of_the_newest_lot(book: Database) -> None:
    buy(book, "A1", "XYZ", "101", "30", date(2025, 1, 6), "T1")  # 3030.00, long-term by the ex date
    buy(book, "A1", "XYZ", "10", "45", date(2026, 2, 2), "T2")  # 450.00, short-term
    old, new = (r for _, r, *_ in lots(book, "A1"))
    announce(book, ActionTerms("XYZ-3FOR2", "split", "XYZ", EX, announce_date=date(2026, 2, 10),
                               record_date=EX, pay_date=PAY, ratio_new=D(3), ratio_old=D(2),
                               lieu_price=D("24")))  # fmt: skip
    assert book_on(book, date(2026, 2, 27)).booked == []  # the Friday before: not due
    res = book_on(book, EX)
    assert [(o.ref, o.accounts, o.lots, o.realized) for o in res.booked] == [("XYZ-3FOR2", 1, 2, 1)]
    # 111 x 1.5 = 166.5 shares: 166 kept, 0.5 paid in lieu from the newest lot (15 @ 30 -> 14.5).
    assert lots(book, "A1") == [
        ("XYZ", old, D("151.5"), D(20), date(2025, 1, 6)),
        ("XYZ", new, D("14.5"), D(30), date(2026, 2, 2)),
    ]
    # The fraction: proceeds 0.5 x 24 = 12.00, cost 0.5 x 30 = 15.00, a short-term loss of 3.00.
    assert gains(book, "A1") == [
        (new, D("0.5"), D("12.00"), D("15.00"), D("-3.00"), "short", date(2026, 2, 2))
    ]
    assert unsettled(book, "A1")["USD"] == D("-3480") + D("12.00")  # the buys and the in-lieu cash
    assert basis(lots(book, "A1")) + D(15) == D(3480)


def test_fraction_from_a_long_term_lot_is_a_long_term_gain(book: Database) -> None:
    buy(book, "A1", "XYZ", "101", "30", date(2025, 1, 6), "T1")
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-S", "split", "XYZ", EX, pay_date=PAY, ratio_new=D(3), ratio_old=D(2),
                               lieu_price=D("24")))  # fmt: skip
    book_on(book, EX)
    # 151.5 @ 20: 0.5 sold at 24 against a cost of 20: +2.00, held since 2025-01-06: long-term.
    assert gains(book, "A1") == [(ref, D("0.5"), D("12.00"), D("10.00"), D("2.00"), "long", date(2025, 1, 6))]
    assert lots(book, "A1") == [("XYZ", ref, D(151), D(20), date(2025, 1, 6))]


def test_one_for_ten_reverse_split(book: Database) -> None:
    buy(book, "A3", "ABC", "1005", "2", date(2026, 1, 5), "T1")
    [(_, ref, *_)] = lots(book, "A3")
    announce(book, ActionTerms("ABC-1FOR10", "reverse_split", "ABC", EX, pay_date=PAY, ratio_new=D(1),
                               ratio_old=D(10), lieu_price=D("21")))  # fmt: skip
    book_on(book, EX)
    # 100.5 shares @ 20.00: 100 kept, 0.5 paid 10.50 against a cost of 10.00.
    assert lots(book, "A3") == [("ABC", ref, D(100), D(20), date(2026, 1, 5))]
    assert gains(book, "A3") == [
        (ref, D("0.5"), D("10.50"), D("10.00"), D("0.50"), "short", date(2026, 1, 5))
    ]
    with book.session() as s:
        a = s.scalars(select(CorporateAction).where(CorporateAction.ref == "ABC-1FOR10")).one()
        assert (a.kind, a.status, a.applied_at is not None) == ("split", "booked", True)


def test_stock_dividend_spreads_the_basis_over_old_and_new_shares(book: Database) -> None:
    buy(book, "A1", "XYZ", "200", "30", date(2024, 5, 1), "T1")
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-SD5", "stock_dividend", "XYZ", EX, pay_date=PAY, ratio_new=D(5),
                               ratio_old=D(100)))  # fmt: skip
    book_on(book, EX)
    # 5 new per 100 held: 210 shares, basis 6000.00 unchanged (6000 / 210 = 28.571429 to 6 places).
    [(sym, r, q, c, acq)] = lots(book, "A1")
    assert (sym, r, q, c, acq) == ("XYZ", ref, D(210), D("28.571429"), date(2024, 5, 1))
    assert round(q * c, 2) == D("6000.00") and gains(book, "A1") == []


def test_cash_and_stock_merger_allocates_the_basis_and_pays_the_fraction_in_lieu(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")  # basis 3000
    buy(book, "A1", "XYZ", "55", "40", date(2026, 1, 5), "T2")  # basis 2200
    l1, l2 = (r for _, r, *_ in lots(book, "A1"))
    # Each XYZ share: 10.00 cash and 0.5 NEWCO; the issuer allocates 20% of the basis to the cash.
    announce(book, ActionTerms("XYZ-NEWCO", "merger", "XYZ", EX, pay_date=PAY, ratio_new=D(1),
                               ratio_old=D(2), amount=D(10), new_security="NEWCO",
                               allocation=D("0.2"), lieu_price=D(50)))  # fmt: skip
    book_on(book, EX)
    # l1: cash 1000 against 600 of basis (+400, long); 50 NEWCO with 2400 (48.00 each).
    # l2: cash 550 against 440 (+110, short); 27.5 NEWCO with 1760 (64.00 each); 77.5 in all, so
    # 0.5 NEWCO is paid in lieu from l2 (the newest): 25.00 against 32.00 (-7.00, short).
    assert gains(book, "A1") == [
        (l1, D(20), D("1000.00"), D("600.00"), D("400.00"), "long", date(2024, 5, 1)),
        (l2, D(11), D("550.00"), D("440.00"), D("110.00"), "short", date(2026, 1, 5)),
        (l2, D("0.5"), D("25.00"), D("32.00"), D("-7.00"), "short", date(2026, 1, 5)),
    ]
    after = lots(book, "A1")
    assert after == [
        ("NEWCO", l1, D(50), D(48), date(2024, 5, 1)),
        ("NEWCO", l2, D(27), D(64), date(2026, 1, 5)),
    ]
    # Basis conserved to the cent: cash 600 + 440, in lieu 32, NEWCO 4128 = the old 5200.
    assert D(600) + D(440) + D(32) + basis(after) == D(5200)
    with book.session() as s:
        kinds = {
            (m.kind, m.amount, m.settle_date)
            for m in s.scalars(select(CashMovement).where(CashMovement.trade_date == EX))
        }
    assert kinds == {("merger", D("1550.00"), PAY), ("in_lieu", D("25.00"), PAY)}


def test_cash_and_stock_merger_without_a_published_allocation_uses_fair_value(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")  # basis 3000
    [(_, ref, *_)] = lots(book, "A1")
    # 10.00 cash + 0.5 NEWCO worth 30.00 (new_price 60): 10 / 40 = 25% of the basis to the cash.
    announce(book, ActionTerms("XYZ-M", "merger", "XYZ", EX, ratio_new=D(1), ratio_old=D(2), amount=D(10),
                               new_security="NEWCO", new_price=D(60)))  # fmt: skip
    book_on(book, EX)
    assert gains(book, "A1") == [
        (ref, D(25), D("1000.00"), D("750.00"), D("250.00"), "long", date(2024, 5, 1))
    ]
    assert lots(book, "A1") == [("NEWCO", ref, D(50), D(45), date(2024, 5, 1))]


def test_all_cash_merger_realizes_every_lot(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-CASH", "merger", "XYZ", EX, pay_date=PAY, amount=D("35.5")))
    book_on(book, EX)
    assert lots(book, "A1") == []
    assert gains(book, "A1") == [
        (ref, D(100), D("3550.00"), D("3000.00"), D("550.00"), "long", date(2024, 5, 1))
    ]


def test_spin_off_allocates_the_published_20_percent_and_keeps_acquisition_dates(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")  # basis 3000
    buy(book, "A1", "XYZ", "30", "50", date(2026, 1, 5), "T2")  # basis 1500
    l1, l2 = (r for _, r, *_ in lots(book, "A1"))
    announce(book, ActionTerms("XYZ-SPIN", "spinoff", "XYZ", EX, pay_date=PAY, ratio_new=D(1), ratio_old=D(4),
                               new_security="SPIN", allocation=D("0.2"), lieu_price=D(12)))  # fmt: skip
    res = book_on(book, EX)
    with book.session() as s:
        aid = s.scalars(select(CorporateAction.id).where(CorporateAction.ref == "XYZ-SPIN")).one()
    # l1: 25 SPIN with 600 (24.00 each), XYZ keeps 2400 (24.00); l2: 7.5 SPIN with 300 (40.00),
    # XYZ keeps 1200 (40.00). 32.5 SPIN: 0.5 paid in lieu from l2's (the newest): 6.00 against 20.00.
    assert lots(book, "A1") == [
        ("SPIN", f"{l1}-S{aid}", D(25), D(24), date(2024, 5, 1)),
        ("SPIN", f"{l2}-S{aid}", D(7), D(40), date(2026, 1, 5)),
        ("XYZ", l1, D(100), D(24), date(2024, 5, 1)),
        ("XYZ", l2, D(30), D(40), date(2026, 1, 5)),
    ]
    assert gains(book, "A1") == [
        (f"{l2}-S{aid}", D("0.5"), D("6.00"), D("20.00"), D("-14.00"), "short", date(2026, 1, 5))
    ]
    assert basis(lots(book, "A1")) + D(20) == D(4500)
    assert res.booked[0].cash == {"USD": D("6.00")}


def test_spin_off_of_less_than_one_new_share_pays_it_all_in_lieu(book: Database) -> None:
    buy(book, "A1", "XYZ", "2", "30", date(2024, 5, 1), "T1")  # basis 60
    [(_, l1, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-SPIN", "spinoff", "XYZ", EX, pay_date=PAY, ratio_new=D(1), ratio_old=D(4),
                               new_security="SPIN", allocation=D("0.2"), lieu_price=D(12)))  # fmt: skip
    res = book_on(book, EX)
    # 2 / 4 = 0.5 SPIN with 12.00 of the basis: the whole new lot is the fraction, sold at 12 -> 6.00.
    assert lots(book, "A1") == [("XYZ", l1, D(2), D(24), date(2024, 5, 1))]
    with book.session() as s:
        aid = s.scalars(select(CorporateAction.id).where(CorporateAction.ref == "XYZ-SPIN")).one()
    assert gains(book, "A1") == [
        (f"{l1}-S{aid}", D("0.5"), D("6.00"), D("12.00"), D("-6.00"), "long", date(2024, 5, 1))
    ]
    assert res.booked[0].cash == {"USD": D("6.00")}


def test_wash_sale_adjusted_lot_keeps_its_adjustment_through_a_split(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "50", date(2026, 1, 5), "T1")
    sell(book, "A1", "XYZ", "100", "40", date(2026, 2, 2), "T2")  # a loss of 1000.00
    buy(book, "A1", "XYZ", "100", "42", date(2026, 2, 10), "T3")  # replacement: +10.00/share, 28 days back
    [(_, ref, q, c, acq)] = lots(book, "A1")
    assert (q, c, acq) == (D(100), D(52), date(2026, 1, 13))
    announce(book, ActionTerms("XYZ-2FOR1", "split", "XYZ", EX, ratio_new=D(2), ratio_old=D(1)))
    book_on(book, EX)
    # The disallowed loss per share halves with the split (10.00 -> 5.00 of the 26.00); the moved
    # holding period start stays; the lot's basis stays 5200.
    assert lots(book, "A1") == [("XYZ", ref, D(200), D(26), date(2026, 1, 13))]


def test_wash_sale_adjustment_follows_the_shares_into_a_merger(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "50", date(2026, 1, 5), "T1")
    sell(book, "A1", "XYZ", "100", "40", date(2026, 2, 2), "T2")
    buy(book, "A1", "XYZ", "100", "42", date(2026, 2, 10), "T3")
    [(_, ref, *_)] = lots(book, "A1")
    announce(
        book,
        ActionTerms("XYZ-STK", "merger", "XYZ", EX, ratio_new=D(1), ratio_old=D(2), new_security="NEWCO"),
    )
    book_on(book, EX)
    # 50 NEWCO carry the whole 5200 (4200 paid + 1000 disallowed): 104.00 each, from 2026-01-13.
    assert lots(book, "A1") == [("NEWCO", ref, D(50), D(104), date(2026, 1, 13))]


def test_delisting_removes_the_position_and_books_the_loss(book: Database) -> None:
    buy(book, "A1", "ABC", "100", "20", date(2024, 5, 1), "T1")
    buy(book, "A2", "ABC", "10", "20", date(2024, 5, 1), "T2")
    [(_, ref, *_)] = lots(book, "A1")
    announce(
        book,
        ActionTerms("ABC-DELIST", "delisting", "ABC", EX),
        ActionTerms("XYZ-DELIST", "delisting", "XYZ", EX, amount=D("0.05")),
    )
    buy(book, "A3", "XYZ", "1000", "1", date(2025, 6, 2), "T3")
    [(_, ref3, *_)] = lots(book, "A3")
    book_on(book, EX)
    assert lots(book, "A1") == [] and lots(book, "A2") == [] and lots(book, "A3") == []
    assert gains(book, "A1") == [
        (ref, D(100), D("0.00"), D("2000.00"), D("-2000.00"), "long", date(2024, 5, 1))
    ]
    assert gains(book, "A3") == [
        (ref3, D(1000), D("50.00"), D("1000.00"), D("-950.00"), "short", date(2025, 6, 2))
    ]


def test_rename_changes_the_symbol_and_isin_in_place(book: Database) -> None:
    buy(book, "A1", "XYZ", "10", "30", date(2025, 1, 6), "T1")
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-REN", "rename", "XYZ", EX, new_symbol="XYZN", new_isin="US0000000019"))
    assert lots(book, "A1")[0][0] == "XYZ"
    book_on(book, EX)
    assert lots(book, "A1") == [("XYZN", ref, D(10), D(30), date(2025, 1, 6))]
    with book.session() as s:
        assert s.scalars(select(Security.isin).where(Security.symbol == "XYZN")).one() == "US0000000019"


def test_cash_dividend_pays_the_ex_date_holders_and_settles_on_the_pay_date(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2025, 1, 6), "T1")
    announce(book, ActionTerms("XYZ-DIV", "dividend", "XYZ", EX, pay_date=PAY, amount=D("0.25")))
    assert book_on(book, date(2026, 2, 27)).booked == []  # before the ex date
    sell(book, "A1", "XYZ", "40", "31", date(2026, 3, 4), "T2")  # sold after the ex date
    res = book_on(book, date(2026, 3, 5))  # booked late: still the 100 shares of the eve
    # 100 x 0.25; a US resident's US dividend has no withholding.
    assert [(o.ref, o.accounts, o.cash) for o in res.booked] == [("XYZ-DIV", 1, {"USD": D("25.00")})]
    with book.session() as s:
        [mv] = s.scalars(select(CashMovement).where(CashMovement.kind == "dividend")).all()
        assert (mv.amount, mv.trade_date, mv.settle_date, mv.settled) == (D("25.00"), EX, PAY, False)
