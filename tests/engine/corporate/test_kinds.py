"""Each kind of corporate action against hand-computed references: lots keep their acquisition
dates, fractions are paid in lieu as sales with the lot's holding period, basis is conserved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from engine.accounting.cash import cash_positions
from engine.accounting.tables import CashMovement, CorporateAction, RealizedGain
from engine.corporate.terms import ActionTerms
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import security_row
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


def test_cash_and_stock_merger_recognises_gain_only_up_to_the_cash(book: Database) -> None:
    """IRC 356(a)/(c): gain recognised = min(realised gain, cash); a loss is not recognised; the
    new shares' basis = old basis - cash + gain recognised; the fraction is sold on that basis."""
    buy(book, "A1", "XYZ", "100", "25", date(2024, 5, 1), "T1")  # basis 2500
    buy(book, "A1", "XYZ", "20", "36", date(2025, 6, 2), "T2")  # basis 720
    buy(book, "A1", "XYZ", "55", "50", date(2026, 1, 5), "T3")  # basis 2750
    l1, l2, l3 = (r for _, r, *_ in lots(book, "A1"))
    # Each XYZ share: 10.00 cash and 0.5 NEWCO worth 60.00 (30.00): 40.00 of consideration.
    announce(book, ActionTerms("XYZ-NEWCO", "merger", "XYZ", EX, pay_date=PAY, ratio_new=D(1),
                               ratio_old=D(2), amount=D(10), new_security="NEWCO", new_price=D(60),
                               lieu_price=D(60)))  # fmt: skip
    book_on(book, EX)
    # l1 (gain lot): received 100 x 40 = 4000 for 2500: realised +1500, cash 1000, recognised
    #   min(1500, 1000) = 1000 (cost set against the cash: 1000 - 1000 = 0); new basis
    #   2500 - 1000 + 1000 = 2500 for 50 NEWCO (50.00 each). Row quantity 100 x 1000/4000 = 25.
    # l2 (gain below the cash): 20 x 40 = 800 for 720: realised +80, cash 200, recognised 80
    #   (cost 200 - 80 = 120); new basis 720 - 200 + 80 = 600 for 10 NEWCO (60.00). Quantity 5.
    # l3 (loss lot): 55 x 40 = 2200 for 2750: realised -550, cash 550, recognised 0 (cost 550);
    #   new basis 2750 - 550 + 0 = 2200 for 27.5 NEWCO (80.00). Quantity 55 x 550/2200 = 13.75.
    # 87.5 NEWCO: 0.5 paid in lieu from l3 (the newest): 0.5 x 60 = 30.00 against 0.5 x 80 = 40.00.
    assert gains(book, "A1") == [
        (l1, D(25), D("1000.00"), D("0.00"), D("1000.00"), "long", date(2024, 5, 1)),
        (l2, D(5), D("200.00"), D("120.00"), D("80.00"), "short", date(2025, 6, 2)),
        (l3, D("13.75"), D("550.00"), D("550.00"), D("0.00"), "short", date(2026, 1, 5)),
        (l3, D("0.5"), D("30.00"), D("40.00"), D("-10.00"), "short", date(2026, 1, 5)),
    ]
    after = lots(book, "A1")
    assert after == [
        ("NEWCO", l1, D(50), D(50), date(2024, 5, 1)),
        ("NEWCO", l2, D(10), D(60), date(2025, 6, 2)),
        ("NEWCO", l3, D(27), D(80), date(2026, 1, 5)),
    ]
    # Basis: old 5970 = new 5300 + fraction 40 + cash 1750 - recognised 1080.
    assert basis(after) + D(40) + D(1750) - D(1080) == D(5970)
    with book.session() as s:
        kinds = {
            (m.kind, m.amount, m.settle_date)
            for m in s.scalars(select(CashMovement).where(CashMovement.trade_date == EX))
        }
    assert kinds == {("merger", D("1750.00"), PAY), ("in_lieu", D("30.00"), PAY)}


def test_cash_and_stock_merger_with_the_issuers_cash_fraction_instead_of_a_price(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")  # basis 3000
    [(_, ref, *_)] = lots(book, "A1")
    # 10.00 cash is 20% of the consideration: 50.00 a share, the NEWCO shares worth 40.00.
    announce(book, ActionTerms("XYZ-M", "merger", "XYZ", EX, ratio_new=D(1), ratio_old=D(2), amount=D(10),
                               new_security="NEWCO", allocation=D("0.2")))  # fmt: skip
    book_on(book, EX)
    # Realised 5000 - 3000 = 2000, cash 1000: recognised 1000; basis 3000 - 1000 + 1000 = 3000
    # for 50 NEWCO (60.00 each). Row quantity 100 x 1000 / 5000 = 20.
    assert gains(book, "A1") == [
        (ref, D(20), D("1000.00"), D("0.00"), D("1000.00"), "long", date(2024, 5, 1))
    ]
    assert lots(book, "A1") == [("NEWCO", ref, D(50), D(60), date(2024, 5, 1))]


def test_merger_into_a_euro_security_keeps_the_dollar_basis_and_pays_in_lieu_in_euros(
    book: Database,
) -> None:
    with book.transaction() as s:
        s.add(security_row("EURCO", "EUR", "XETR", "DE"))
    buy(book, "A1", "XYZ", "101", "30", date(2024, 5, 1), "T1")  # basis 3030.00 USD
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-EURCO", "merger", "XYZ", EX, pay_date=PAY, ratio_new=D(1), ratio_old=D(2),
                               new_security="EURCO", lieu_price=D(40)))  # fmt: skip
    res = book_on(book, EX)
    assert res.failed == []
    # 50.5 EURCO carry 3030.00 USD; at the ex date's ECB EUR/USD 1.15 that is 2634.782609 EUR,
    # 52.173913 EUR a share, and the lot's FX is 1.15. 0.5 EURCO is paid in lieu: 0.5 x 40 =
    # 20.00 EUR into the EUR cash; cost 0.5 x 52.173913 = 26.09 EUR. In USD: proceeds
    # 20.00 x 1.15 = 23.00, cost 26.09 x 1.15 = 30.0035 -> 30.00: a loss of 7.00.
    with book.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == "A1")).one()
        lot = s.scalars(select(TaxLot).where(TaxLot.account_id == aid)).one()
        assert (D(lot.quantity), D(lot.unit_cost), D(lot.fx_rate)) == (D(50), D("52.173913"), D("1.15"))
        g = s.scalars(select(RealizedGain).where(RealizedGain.account_id == aid)).one()
        assert (g.currency, D(g.proceeds_local), D(g.cost_local)) == ("EUR", D("20.00"), D("26.09"))
        assert (D(g.proceeds_base), D(g.cost_base), D(g.gain_base)) == (D("23.00"), D("30.00"), D("-7.00"))
    assert lots(book, "A1")[0][:2] == ("EURCO", ref)
    assert round(D(50) * D("52.173913") * D("1.15"), 2) == D("3000.00")  # 3030 less the fraction's 30
    assert unsettled(book, "A1") == {"USD": D("-3030.00"), "EUR": D("20.00")}
    assert res.booked[0].cash == {"EUR": D("20.00")}


def test_spin_off_into_a_euro_company_restates_its_basis_at_the_ex_date_fx(book: Database) -> None:
    with book.transaction() as s:
        s.add(security_row("EUSPIN", "EUR", "XETR", "DE"))
    buy(book, "A1", "XYZ", "100", "30", date(2024, 5, 1), "T1")  # basis 3000 USD
    [(_, ref, *_)] = lots(book, "A1")
    announce(book, ActionTerms("XYZ-EUSPIN", "spinoff", "XYZ", EX, pay_date=PAY, ratio_new=D(1),
                               ratio_old=D(4), new_security="EUSPIN", allocation=D("0.23")))  # fmt: skip
    assert book_on(book, EX).failed == []
    with book.session() as s:
        aid = s.scalars(select(CorporateAction.id).where(CorporateAction.ref == "XYZ-EUSPIN")).one()
    # 23% of 3000 = 690.00 USD to 25 EUSPIN: 690 / 1.15 = 600.00 EUR, 24.00 EUR each, FX 1.15;
    # XYZ keeps 2310.00 (23.10 a share).
    assert lots(book, "A1") == [
        ("EUSPIN", f"{ref}-S{aid}", D(25), D(24), date(2024, 5, 1)),
        ("XYZ", ref, D(100), D("23.1"), date(2024, 5, 1)),
    ]
    with book.session() as s:
        fx = {lot.lot_ref: D(lot.fx_rate) for lot in s.scalars(select(TaxLot))}
    assert fx == {ref: D(1), f"{ref}-S{aid}": D("1.15")}


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
