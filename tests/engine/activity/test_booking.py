"""Custodian activity booked into the ledger, against hand-computed numbers, on SQLite and PostgreSQL.

The minibook (tests/engine/reconcile/minibook.py): A000001 (USD, US rules, FIFO) holds 100 AAA at
10.00 bought 2025-01-06; A000002 (GBP) holds 500 VODX.L at 10.00 from the same day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.activity.queries import list_activity
from engine.activity.tables import ActivityFile, ActivityLine
from engine.audit.verify import verify_chain
from engine.errors import ImportValidationError
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.positions import CashBalance, TaxLot
from tests.engine.activity.helpers import csv_file, load
from tests.engine.reconcile.minibook import build

US, UK = "A000001", "A000002"
DAY = [
    # A dividend of 100 AAA x 0.24 = 24.00, 15% withheld = 3.60, net 20.40.
    dict(reference="D1", account=US, kind="dividend", trade_date="2026-11-02", id_type="SYMBOL",
         security_id="AAA", currency="USD", gross="24.00", withholding="3.60", amount="20.40"),
    # 50 AAA transferred in, bought 2020-05-01 for 400.00 in total.
    dict(reference="T1", account=US, kind="transfer_in", trade_date="2026-11-02", id_type="SYMBOL",
         security_id="AAA", quantity="50", cost_basis="400.00", acquired="2020-05-01"),
    dict(reference="C1", account=US, kind="deposit", trade_date="2026-11-02", currency="USD", amount="10000.00"),
    dict(reference="C2", account=US, kind="withdrawal", trade_date="2026-11-02", currency="USD", amount="2500"),
    dict(reference="F1", account=US, kind="fee", trade_date="2026-11-02", currency="USD", amount="12.34"),
    dict(reference="X1", account=US, kind="fx", trade_date="2026-11-02", settle_date="2026-11-04",
         currency="GBP", amount="1000.00", counter_currency="USD", counter_amount="1270.50"),
    dict(reference="O1", account=UK, kind="transfer_out", trade_date="2026-11-02", id_type="SYMBOL",
         security_id="VODX.L", quantity="100"),
    # A trade away on the next day: sells 120 AAA at 12.50, commission 6.00 (net 1494.00).
    dict(reference="S1", account=US, kind="sell", trade_date="2026-11-03", settle_date="2026-11-04",
         id_type="SYMBOL", security_id="AAA", quantity="120", price="12.50", commission="6.00", currency="USD"),
]  # fmt: skip


def _cash(database: Database, code: str) -> dict[str, Decimal]:
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.code == code)).one()
        return {
            b.currency: Decimal(b.settled) + Decimal(b.unsettled or 0)
            for b in s.scalars(select(CashBalance).where(CashBalance.account_id == acct.id))
        }


def _lots(database: Database, code: str) -> list[tuple[str, Decimal, Decimal, date]]:
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.code == code)).one()
        return sorted(
            (lot.lot_ref[:1] if lot.lot_ref.startswith("T") else lot.lot_ref, Decimal(lot.quantity),
             Decimal(lot.unit_cost), lot.acquired)
            for lot in s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id))
        )  # fmt: skip


def _counts(database: Database) -> tuple[int, int, int, int]:
    with database.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ActivityFile)) or 0,
            s.scalar(select(func.count()).select_from(ActivityLine)) or 0,
            s.scalar(select(func.count()).select_from(Booking)) or 0,
            s.scalar(select(func.count()).select_from(CashMovement)) or 0,
        )


@pytest.fixture
def book(database: Database) -> Database:
    build(database)
    return database


def test_a_day_of_activity_books_to_hand_computed_numbers(book: Database, tmp_path: Path) -> None:
    cash0 = _cash(book, US)
    result = load(book, csv_file(tmp_path / "day.csv", DAY))
    assert not result.already_loaded and result.booked == 8 and result.skipped == 0
    assert result.counts == {
        "sell": 1, "dividend": 1, "fee": 1, "deposit": 1, "withdrawal": 1, "transfer_in": 1,
        "transfer_out": 1, "fx": 1,
    }  # fmt: skip
    # Cash by currency: +20.40 dividend, +1494.00 sale, +10000 - 2500 flows, -12.34 fee, -1270.50 FX.
    cash = _cash(book, US)
    assert cash["USD"] - cash0.get("USD", Decimal(0)) == Decimal("7731.56")
    assert cash["GBP"] - cash0.get("GBP", Decimal(0)) == Decimal("1000.00")
    with book.session() as s:
        d1 = s.scalars(select(Booking).where(Booking.source_ref == "ACT:SIM-CUSTODIAN-A:D1")).one()
        moves = sorted((m.kind, Decimal(m.amount)) for m in s.scalars(
            select(CashMovement).where(CashMovement.booking_id == d1.id)))  # fmt: skip
        assert moves == [("dividend", Decimal("24.00")), ("withholding", Decimal("-3.60"))]
        # The sale relieved the transferred lot first (FIFO by its ORIGINAL date, 2020) then 70 of 2025's.
        gains = sorted(
            (g.acquired, Decimal(g.quantity), Decimal(g.proceeds_local), Decimal(g.cost_local), Decimal(g.gain_base), g.term)
            for g in s.scalars(select(RealizedGain))
        )  # fmt: skip
        assert gains == [
            (date(2020, 5, 1), Decimal(50), Decimal("622.50"), Decimal("400.00"), Decimal("222.50"), "long"),
            (date(2025, 1, 6), Decimal(70), Decimal("871.50"), Decimal("700.00"), Decimal("171.50"), "long"),
        ]
    # Lots: 30 AAA of 2025 left (and the untouched 10 BPX); 400 VODX.L after 100 went out.
    assert _lots(book, US) == [("L-AAA", Decimal(30), Decimal(10), date(2025, 1, 6)),
                               ("L-BPX", Decimal(10), Decimal(10), date(2025, 1, 6))]  # fmt: skip
    assert _lots(book, UK) == [("L-BPX.L", Decimal(60), Decimal(10), date(2025, 1, 6)),
                               ("L-VODX.L", Decimal(400), Decimal(10), date(2025, 1, 6))]  # fmt: skip
    with book.session() as s:
        lines = list_activity(s, account=US)
        assert {ln["reference"]: ln["external"] for ln in lines} == {
            "D1": False,
            "T1": True,
            "C1": True,
            "C2": True,
            "F1": False,
            "X1": False,
            "S1": False,
        }
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "activity.load")).all()
        assert [(e.username, e.entity) for e in entries] == [("olivia.ops", "activity_file")]
        assert verify_chain(s).ok


def test_transfer_in_keeps_the_original_acquisition_date(book: Database, tmp_path: Path) -> None:
    load(book, csv_file(tmp_path / "t.csv", [DAY[1]]))
    lots = _lots(book, US)
    assert ("T", Decimal(50), Decimal(8), date(2020, 5, 1)) in lots


def test_the_identical_file_again_books_nothing(book: Database, tmp_path: Path) -> None:
    path = csv_file(tmp_path / "day.csv", DAY)
    first = load(book, path)
    before, cash = _counts(book), _cash(book, US)
    again = load(book, path)
    assert again.already_loaded and again.file_id == first.file_id and again.counts == first.counts
    assert _counts(book) == before and _cash(book, US) == cash
    # Another file repeating a booked line word for word: that line is skipped, the new one booked.
    other = load(book, csv_file(tmp_path / "next.csv", [DAY[2], {**DAY[4], "reference": "F2"}]))
    assert (other.booked, other.skipped, other.counts) == (1, 1, {"fee": 1})
    assert _cash(book, US)["USD"] == cash["USD"] - Decimal("12.34")


def test_a_bad_file_lists_every_problem_and_writes_nothing(book: Database, tmp_path: Path) -> None:
    load(book, csv_file(tmp_path / "day.csv", DAY[2:3]))
    before, cash = _counts(book), _cash(book, US)
    bad = [
        dict(DAY[3], reference="OK1"),  # fine on its own: must not be booked either
        dict(DAY[0], reference="B1", account="A999999"),
        dict(DAY[0], reference="B2", security_id="NOPE"),
        dict(DAY[0], reference="B3", amount="20.41"),  # 24.00 - 3.60 is 20.40
        dict(DAY[4], reference="B4", amount="0"),
        dict(DAY[4], reference="OK1"),  # the key twice in one file
        dict(DAY[2], amount="9999.00"),  # C1 was booked from day.csv with 10000.00
    ]  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        load(book, csv_file(tmp_path / "bad.csv", bad))
    got = [(p.row, p.column, p.reason) for p in err.value.problems]
    assert [(r, c) for r, c, _ in got] == [
        (3, "account"),
        (4, "security_id"),
        (5, "amount"),
        (6, "amount"),
        (7, "reference"),
        (8, "reference"),
    ]
    assert "'A999999', which is not in the book" in got[0][2]
    assert "no security with SYMBOL 'NOPE'" in got[1][2]
    assert "gross 24.00 less withholding 3.60 is 20.40, not the net 20.41" in got[2][2]
    assert "appears twice in the file (first on row 2)" in got[4][2]
    assert "was booked from day.csv (row 2) with different content" in got[5][2]
    assert _counts(book) == before and _cash(book, US) == cash


def test_a_booking_failure_refuses_the_whole_file(book: Database, tmp_path: Path) -> None:
    before, cash = _counts(book), _cash(book, US)
    rows = [DAY[2], dict(DAY[7], quantity="1000")]  # a deposit, then a sale of more than is held
    with pytest.raises(ImportValidationError) as err:
        load(book, csv_file(tmp_path / "short.csv", rows))
    assert [(p.row, p.column) for p in err.value.problems] == [(3, "quantity")]
    assert "selling 1000 but only 100" in err.value.problems[0].reason
    assert _counts(book) == before and _cash(book, US) == cash


def test_deposits_and_withdrawals_are_external_flows_income_is_not(book: Database, tmp_path: Path) -> None:
    import numpy as np

    from engine.reports.cash_history import cash_history

    load(book, csv_file(tmp_path / "day.csv", DAY))
    with book.session() as s:
        acct = s.scalars(select(Account).where(Account.code == US)).one()
        hist = cash_history(
            s, acct.id, np.array(["2026-11-01", "2026-11-02", "2026-11-03"], dtype="datetime64[D]")
        )
    flows = sorted(zip(hist.flows["currency"], hist.flows["amount"], strict=True))
    assert flows == [("USD", -2500.0), ("USD", 10000.0)]
    # End of 2026-11-02: +20.40 + 10000 - 2500 - 12.34 - 1270.50; the sale's +1494.00 comes on the 3rd.
    assert round(hist.balance.loc["2026-11-02", "USD"] - hist.balance.loc["2026-11-01", "USD"], 2) == 6237.56
    assert round(hist.balance.loc["2026-11-03", "USD"] - hist.balance.loc["2026-11-02", "USD"], 2) == 1494.0
