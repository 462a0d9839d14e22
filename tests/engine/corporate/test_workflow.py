"""Booked exactly once and audited; four-eyes for manual entries; a vendor file is all or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access.errors import SegregationOfDuties
from engine.accounting.tables import Booking, CorporateAction
from engine.audit.verify import verify_chain
from engine.corporate import entry
from engine.corporate.book import book_due
from engine.corporate.csvfile import parse_file
from engine.corporate.terms import ActionTerms
from engine.errors import ImportValidationError, PermissionDenied
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.corporate.conftest import EX, PAY, announce, book_on, buy, lots

D = Decimal


def actions(db: Database) -> list[tuple[str, str, str | None, str | None]]:
    with db.session() as s:
        return [
            (a.ref, a.status, a.entered_by, a.decided_by)
            for a in s.scalars(select(CorporateAction).order_by(CorporateAction.ref))
        ]


def audit(db: Database, prefix: str = "corporate_action.") -> list[tuple[str, str, str]]:
    with db.session() as s:
        return [
            (e.action, e.username, e.entity_id)
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.id)
            )
        ]


def test_book_due_books_each_action_exactly_once(book: Database) -> None:
    buy(book, "A1", "XYZ", "100", "30", date(2025, 1, 6), "T1")
    announce(book, ActionTerms("XYZ-2FOR1", "split", "XYZ", EX, ratio_new=D(2), ratio_old=D(1)),
             ActionTerms("XYZ-DIV", "dividend", "XYZ", EX, pay_date=PAY, amount=D("0.10")))  # fmt: skip
    first = book_on(book, EX)
    assert [o.ref for o in first.booked] == ["XYZ-DIV", "XYZ-2FOR1"] and first.failed == []
    after = lots(book, "A1")
    again = book_on(book, PAY)
    assert again.booked == [] and again.failed == [] and lots(book, "A1") == after
    assert after[0][2:4] == (D(200), D(15))
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(Booking).where(Booking.source_ref.like("CA:%"))) == 2
        assert verify_chain(s).ok
    assert [a for a, _, _ in audit(book)] == ["corporate_action.load", "corporate_action.load",
                                               "corporate_action.book", "corporate_action.book"]  # fmt: skip
    assert {(r, st) for r, st, _, _ in actions(book)} == {("XYZ-2FOR1", "booked"), ("XYZ-DIV", "booked")}
    # Both ex on one day: the dividend goes to the shares of the eve (100, before the split), so
    # it is booked first: 100 x 0.10 = 10.00, unsettled until the pay date.
    with book.session() as s:
        div = s.scalars(select(Booking).where(Booking.source_ref == "CA:XYZ-DIV:A1")).one()
        assert (D(div.quantity), D(div.cash_amount), div.settle_date) == (D(100), D("10.00"), PAY)


def test_manual_entry_needs_a_second_user(book: Database) -> None:
    terms = ActionTerms("ABC-DELIST", "delisting", "ABC", EX, amount=D(0))
    with book.transaction() as s:
        entry.add(s, terms, username="ops1")
    assert actions(book) == [("ABC-DELIST", "pending_approval", "ops1", None)]
    with pytest.raises(SegregationOfDuties), book.transaction() as s:
        entry.approve(s, "ABC-DELIST", username="ops1")
    assert actions(book)[0][1] == "pending_approval"
    assert audit(book)[-1][:2] == ("corporate_action.self_refused", "ops1")
    # Not approved: not booked, even when due; book_due says it waits.
    buy(book, "A1", "ABC", "10", "20", date(2024, 5, 1), "T1")
    res = book_on(book, EX)
    assert res.booked == [] and res.awaiting_approval == ["ABC-DELIST"]
    with book.transaction() as s:
        entry.approve(s, "ABC-DELIST", username="ops2", reason="checked against the exchange notice")
    assert actions(book) == [("ABC-DELIST", "announced", "ops1", "ops2")]
    assert [o.ref for o in book_on(book, EX).booked] == ["ABC-DELIST"] and lots(book, "A1") == []
    assert [a for a, _, _ in audit(book)] == ["corporate_action.enter", "corporate_action.self_refused",
                                               "corporate_action.approve", "corporate_action.book"]  # fmt: skip


def test_rejected_entry_is_never_booked(book: Database) -> None:
    with book.transaction() as s:
        entry.add(s, ActionTerms("XYZ-R", "rename", "XYZ", EX, new_symbol="XYZQ"), username="ops1")
    with pytest.raises(Exception, match="reason"), book.transaction() as s:
        entry.reject(s, "XYZ-R", " ", username="ops2")
    with book.transaction() as s:
        entry.reject(s, "XYZ-R", "wrong security", username="ops2")
    assert actions(book) == [("XYZ-R", "rejected", "ops1", "ops2")]
    assert book_on(book, EX).booked == [] and lots(book, "A1") == []
    with pytest.raises(Exception, match="rejected, not pending"), book.transaction() as s:
        entry.approve(s, "XYZ-R", username="ops2")


def test_permissions_are_checked(book: Database) -> None:
    t = ActionTerms("X", "split", "XYZ", EX, ratio_new=D(2), ratio_old=D(1))
    for call in (
        lambda s: entry.load(s, "f.csv", [(2, t)], username="pm1"),
        lambda s: entry.add(s, t, username="pm1"),
        lambda s: book_due(s, EX, username="pm1"),
    ):
        with pytest.raises(PermissionDenied), book.transaction() as s:
            call(s)
    assert actions(book) == []


def test_a_file_with_any_bad_row_writes_nothing_and_names_every_problem(
    book: Database, tmp_path: Path
) -> None:
    path = tmp_path / "ca.csv"
    path.write_text(
        "ref,kind,security,ex_date,pay_date,ratio_new,ratio_old,amount,new_security,allocation\n"
        "OK-1,split,XYZ,2026-03-02,,3,2,,,\n"
        "B-2,split,NOPE,2026-03-02,,2,1,,,\n"
        "B-3,dividend,XYZ,2026-03-32,,,,0.1,,\n"
        "B-4,spinoff,XYZ,2026-03-02,,1,4,,SPIN,1.5\n"
        "B-5,merger,XYZ,2026-03-02,2026-03-01,,,,,\n"
        "B-6,bonus,XYZ,2026-03-02,,,,,,\n"
        "OK-1,dividend,XYZ,2026-03-02,,,,x,,\n",
        encoding="utf-8",
    )
    rows, problems = parse_file(path)
    with pytest.raises(ImportValidationError) as err, book.transaction() as s:
        entry.load(s, path.name, rows, username="ops1", problems=problems)
    assert [(p.row, p.column, p.reason) for p in err.value.problems] == [
        (3, "security", "no security 'NOPE' (symbol or ISIN)"),
        (4, "ex_date", "'2026-03-32' is not a date (YYYY-MM-DD)"),
        (5, "allocation", "must be a fraction from 0 to 1"),
        (5, "allocation", "a spin-off needs the issuer's published basis fraction (0 to 1, exclusive)"),
        (6, "amount", "a merger pays cash (amount) and/or shares (ratio_new, ratio_old)"),
        (6, "pay_date", "2026-03-01 is before the ex date 2026-03-02"),
        (
            7,
            "kind",
            "must be one of split, reverse_split, dividend, stock_dividend, merger, spinoff, rename, delisting",
        ),
        (8, "amount", "'x' is not a number"),
    ]
    assert actions(book) == [] and audit(book) == []
    # A header problem is named on row 1.
    path.write_text("ref,kind,security,exdate\n", encoding="utf-8")
    assert [(p.row, p.column) for p in parse_file(path)[1]] == [(1, "exdate"), (1, "ex_date")]
    # The good row alone loads; loading it again changes nothing; other terms under its ref are refused.
    with book.transaction() as s:
        assert entry.load(s, "a.csv", rows[:1], username="ops1").stored == ["OK-1"]
    with book.transaction() as s:
        assert entry.load(s, "a.csv", rows[:1], username="ops1").unchanged == ["OK-1"]
    changed = [(2, ActionTerms("OK-1", "split", "XYZ", EX, ratio_new=D(2), ratio_old=D(1)))]
    with pytest.raises(ImportValidationError, match="1 problem"), book.transaction() as s:
        entry.load(s, "b.csv", changed, username="ops1")
