"""Trades away and transfers out in an account on specific-lot relief: the custodian's line names
the lots (our lot references, its own lot ids, acquisition dates), or the file is refused.

The minibook's A000001 (USD, US rules) holds 100 AAA at 10.00 bought 2025-01-06 (lot L-AAA); here
it relieves specific lots.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.accounting.tables import RealizedGain
from engine.activity.tables import ActivityLine
from engine.errors import ImportValidationError
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from tests.engine.activity.helpers import FIELDS, load
from tests.engine.reconcile.minibook import build

US = "A000001"
D = Decimal
COLUMNS = [*FIELDS, "lots"]
AAA = dict(account=US, id_type="SYMBOL", security_id="AAA")
DAY1 = [
    # 50 AAA transferred in (the custodian's lot T1), bought 2020-05-01 for 400.00: 8.00 each.
    dict(AAA, reference="T1", kind="transfer_in", trade_date="2026-11-02", quantity="50", cost_basis="400.00",
         acquired="2020-05-01"),
    # 40 AAA bought away at 11.00 (the custodian's lot BUY1).
    dict(AAA, reference="BUY1", kind="buy", trade_date="2026-11-02", quantity="40", price="11", currency="USD"),
]  # fmt: skip


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    lines = [",".join(COLUMNS)] + [",".join(r.get(f, "") for f in COLUMNS) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def book(database: Database) -> Database:
    build(database)
    with database.transaction() as s:
        s.execute(update(Account).where(Account.code == US).values(lot_relief="specific"))
    return database


def _lots(db: Database) -> dict[str, tuple[Decimal, Decimal, date]]:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == US)).one()
        return {
            lot.lot_ref[0] if lot.lot_ref[0] in "TB" else lot.lot_ref: (D(lot.quantity), D(lot.unit_cost), lot.acquired)
            for lot in s.scalars(select(TaxLot).where(TaxLot.account_id == aid))
            if lot.lot_ref != "L-BPX"
        }  # fmt: skip


def test_lines_that_name_their_lots_relieve_those_lots(book: Database, tmp_path: Path) -> None:
    load(book, _csv(tmp_path / "day1.csv", DAY1))
    day2 = [
        # 30 AAA at 12.50: 20 of the custodian's lot BUY1 and 10 of the lot acquired 2020-05-01.
        dict(AAA, reference="S1", kind="sell", trade_date="2026-11-03", quantity="30", price="12.50",
             currency="USD", lots="BUY1:20|2020-05-01:10"),
        # 25 AAA at 12.50 from our lot L-AAA (no quantity: all of the line's).
        dict(AAA, reference="S2", kind="sell", trade_date="2026-11-03", quantity="25", price="12.50",
             currency="USD", lots="L-AAA"),
        # 5 AAA out, from the custodian's lot T1.
        dict(AAA, reference="O1", kind="transfer_out", trade_date="2026-11-03", quantity="5", lots="T1"),
    ]  # fmt: skip
    load(book, _csv(tmp_path / "day2.csv", day2))
    with book.session() as s:
        got = sorted(
            (g.acquired, D(g.quantity), D(g.proceeds_local), D(g.cost_local), D(g.gain_base), g.term)
            for g in s.scalars(select(RealizedGain))
        )
        relieved = s.scalars(select(ActivityLine.detail).where(ActivityLine.reference == "O1")).one()
    # FIFO would have sold the 2020 lot first; the lines say otherwise:
    # S1: 20 of BUY1's lot: 20 x 12.50 = 250.00 against 20 x 11 = 220.00 (+30.00, short: one day);
    #     10 of the 2020 lot: 125.00 against 80.00 (+45.00, long).
    # S2: 25 of L-AAA: 312.50 against 250.00 (+62.50, long).
    assert got == [
        (date(2020, 5, 1), D(10), D("125.00"), D("80.00"), D("45.00"), "long"),
        (date(2025, 1, 6), D(25), D("312.50"), D("250.00"), D("62.50"), "long"),
        (date(2026, 11, 2), D(20), D("250.00"), D("220.00"), D("30.00"), "short"),
    ]
    assert [(x["quantity"], x["acquired"]) for x in relieved["lots_relieved"]] == [("5", "2020-05-01")]
    # Left: L-AAA 75 @ 10; the transferred lot 50 - 10 - 5 = 35 @ 8; the bought lot 40 - 20 = 20 @ 11.
    assert _lots(book) == {
        "L-AAA": (D(75), D(10), date(2025, 1, 6)),
        "T": (D(35), D(8), date(2020, 5, 1)),
        "B": (D(20), D(11), date(2026, 11, 2)),
    }


def test_a_sale_that_names_no_lot_or_an_unknown_one_is_refused_with_row_and_reason(
    book: Database, tmp_path: Path
) -> None:
    load(book, _csv(tmp_path / "day1.csv", DAY1))
    before = _lots(book)
    bad = [
        dict(AAA, reference="S1", kind="sell", trade_date="2026-11-03", quantity="30", price="12.50"),
        dict(AAA, reference="S2", kind="sell", trade_date="2026-11-03", quantity="30", price="12.50",
             lots="NOPE:30"),
        dict(AAA, reference="S3", kind="sell", trade_date="2026-11-03", quantity="30", price="12.50",
             lots="L-AAA:20"),
        dict(AAA, reference="O1", kind="transfer_out", trade_date="2026-11-03", quantity="5"),
    ]  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        load(book, _csv(tmp_path / "bad.csv", bad))
    got = [(p.row, p.column, p.reason) for p in err.value.problems]
    assert [(r, c) for r, c, _ in got] == [(2, "lots"), (3, "lots"), (4, "lots"), (5, "lots")]
    assert "account A000001 relieves specific lots: the line must name them" in got[0][2]
    assert "'NOPE' is no open lot of AAA here" in got[1][2]
    assert "the lots named give 20 of AAA, the line's quantity is 30" in got[2][2]
    assert "account A000001 relieves specific lots" in got[3][2]
    assert _lots(book) == before


def test_a_bad_lots_cell_is_refused_when_read(book: Database, tmp_path: Path) -> None:
    rows = [dict(AAA, reference="S1", kind="sell", trade_date="2026-11-03", quantity="3", price="1",
                 lots="L-AAA:-3")]  # fmt: skip
    with pytest.raises(ImportValidationError) as err:
        load(book, _csv(tmp_path / "bad.csv", rows))
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "lots")]
    assert "the quantity must be positive" in err.value.problems[0].reason
