"""The day cycle books what the custodians and the data vendor sent: a custodian's activity file
(INBOX/<custodian>/activity/) through engine.activity, and a vendor's corporate-action file
(INBOX/corporate/) stored and then booked on its ex date by the corporate step, each once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from engine.accounting.tables import CorporateAction
from engine.activity.tables import ActivityLine
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from tests.engine.daycycle.test_day_cycle import D1, _close, _step, _values, book, drop_day  # noqa: F401
from tests.engine.reconcile.minibook import CUST, IDS


def _drop_books(inbox: Path) -> None:
    (inbox / CUST / "activity").mkdir(parents=True, exist_ok=True)
    (inbox / CUST / "activity" / f"activity-{D1}.csv").write_text(
        "reference,account,kind,trade_date,currency,amount,gross,withholding,id_type,security_id\n"
        f"T-1,A000001,deposit,{D1},USD,500.00,,,,\n"
        f"T-2,A000001,dividend,{D1},USD,25.50,30.00,4.50,ISIN,{IDS['AAA']['isin']}\n",
        encoding="utf-8",
    )
    (inbox / "corporate").mkdir(parents=True, exist_ok=True)
    (inbox / "corporate" / "actions.csv").write_text(
        f"ref,kind,security,ex_date,ratio_new,ratio_old\nCA-AAA-2-1,split,{IDS['AAA']['isin']},{D1},2,1\n",
        encoding="utf-8",
    )


def _aaa_lots(db: Database) -> list[tuple[Decimal, Decimal]]:
    with db.session() as s:
        rows = s.execute(
            select(TaxLot.quantity, TaxLot.unit_cost)
            .join(Account, Account.id == TaxLot.account_id)
            .where(Account.code == "A000001", TaxLot.security_id == select_aaa())
        ).all()
    return [(Decimal(str(q)), Decimal(str(c))) for q, c in rows]


def select_aaa():  # type: ignore[no-untyped-def]
    from engine.store.reference import Security

    return select(Security.id).where(Security.symbol == "AAA").scalar_subquery()


def test_activity_and_corporate_action_files_are_booked_by_the_close(book: Database, tmp_path: Path) -> None:  # noqa: F811
    before = _aaa_lots(book)
    inbox = tmp_path / "inbox"
    drop_day(inbox, D1)
    _drop_books(inbox)
    result = _close(book, inbox, D1)
    assert result.status == "closed", result.as_dict()
    assert _step(result, "load")["counts"]["loaded_by_kind"] == {
        "fx-ecb": 1, "prices-eod": 1, "corporate-actions": 1, "custodian-activity": 1,
    }  # fmt: skip
    corp = _step(result, "corporate_actions")["counts"]
    assert corp["booked"] == 1 and corp["booked_refs"] == ["CA-AAA-2-1"] and corp["failed"] == 0
    # The split doubled the shares and halved the unit cost, lot by lot.
    assert sorted(_aaa_lots(book)) == sorted((q * 2, c / 2) for q, c in before)
    # The deposit is an external flow of the day; the dividend net of withholding is income.
    v = _values(book, D1)["A000001"]
    assert Decimal(str(v.cash_flows)) == Decimal("500.00")
    assert Decimal(str(v.income)) == Decimal("25.50")
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(ActivityLine)) == 2
        assert s.scalar(select(CorporateAction.status).where(CorporateAction.ref == "CA-AAA-2-1")) == "booked"
    # A second close of the day (after a --rerun) books nothing twice.
    again = _close(book, inbox, D1, rerun=True)
    assert again.status == "closed"
    assert _step(again, "corporate_actions")["counts"]["booked"] == 0
    assert sorted(_aaa_lots(book)) == sorted((q * 2, c / 2) for q, c in before)
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(ActivityLine)) == 2
