"""The day cycle drives a small book over three days from files alone (ECB XML, end-of-day closes,
a custodian statement) on SQLite and PostgreSQL; stored daily values and the performance read
from them are checked against numbers computed here by hand from the files' own figures.

Book (tests.engine.reconcile.minibook): A000001 (USD) holds AAA 100, BPX (ADR) 10 and, added
here, VODX.L 200 (GBP, so FX matters); A000002 (GBP) holds VODX.L 500 and BPX.L 60. A deposit of
1,000 USD into A000001 is booked on day 2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.accounting.fxspot import book_cash_flow
from engine.daycycle.cycle import DayCycleError, close_day, day_status
from engine.daycycle.history import stored_history
from engine.daycycle.steps import STEPS, Step
from engine.daycycle.tables import AccountDailyValue, DayRun, DayStep, InboxFile
from engine.errors import PermissionDenied
from engine.reports.performance import performance_report
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate
from engine.store.people import AuditEntry
from engine.store.positions import TaxLot
from engine.views.performance import performance as performance_view
from tests.engine.reconcile.minibook import CUST, IDS, OPS, build
from workstation.compose import inbox_kinds

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)
# EUR rates per day: units of USD and GBP per euro.
FX = {D1: ("1.1000", "0.8500"), D2: ("1.1050", "0.8480"), D3: ("1.0980", "0.8520")}
# Closes per day (local currency); BPX.L has no close on D3 (stale: valued at D2's close).
CLOSES = {
    D1: {"AAA": "100.00", "BPX": "30.00", "VODX.L": "2.00", "BPX.L": "5.00"},
    D2: {"AAA": "102.00", "BPX": "30.60", "VODX.L": "2.10", "BPX.L": "5.10"},
    D3: {"AAA": "99.50", "BPX": "31.20", "VODX.L": "2.05"},
}
MIC = {"AAA": "XNYS", "BPX": "XNYS", "VODX.L": "XLON", "BPX.L": "XLON"}
CCY = {"AAA": "USD", "BPX": "USD", "VODX.L": "GBP", "BPX.L": "GBP"}
HOLD = {"A000001": {"AAA": 100, "BPX": 10, "VODX.L": 200}, "A000002": {"VODX.L": 500, "BPX.L": 60}}
BASE = {"A000001": "USD", "A000002": "GBP"}
DEPOSIT = Decimal("1000")


def _ecb(day: date) -> str:
    usd, gbp = FX[day]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
        "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
        "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n"
        f"\t<Cube>\n\t\t<Cube time='{day.isoformat()}'>\n"
        f"\t\t\t<Cube currency='USD' rate='{usd}'/>\n\t\t\t<Cube currency='GBP' rate='{gbp}'/>\n"
        "\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n"
    )


def _eod(day: date) -> str:
    lines = ["identifier,id_type,mic,date,close,currency"]
    lines += [f"{IDS[s]['isin']},ISIN,{MIC[s]},{day},{c},{CCY[s]}" for s, c in CLOSES[day].items()]
    return "\n".join(lines) + "\n"


def _statement(day: date) -> str:
    lines = ["custodian,account,security_id,id_type,quantity,currency,market_value,as_of"]
    for acct, held in HOLD.items():
        lines += [f"{CUST},{acct},{IDS[s]['isin']},ISIN,{q},{CCY[s]},,{day}" for s, q in held.items()]
    return "\n".join(lines) + "\n"


def drop_day(inbox: Path, day: date, *, statement: bool = False, bad_prices: bool = False) -> None:
    """What arrives in the inbox by the morning after `day`."""
    for folder in ("ecb", "prices", CUST):
        (inbox / folder).mkdir(parents=True, exist_ok=True)
    (inbox / "ecb" / f"eurofxref-daily-{day}.xml").write_text(_ecb(day), encoding="utf-8")
    (inbox / "prices" / f"eod-{day}.csv").write_text(_eod(day), encoding="utf-8")
    if statement:
        (inbox / CUST / f"positions-{day}.csv").write_text(_statement(day), encoding="utf-8")
    if bad_prices:
        (inbox / "prices" / f"late-{day}.csv").write_text(
            f"identifier,id_type,mic,date,close,currency\n{IDS['AAA']['isin']},ISIN,XNYS,{day},-5,USD\n",
            encoding="utf-8",
        )


def expected_value(acct: str, day: date, cash: Decimal = Decimal(0)) -> float:
    """The account's value in its base currency from the files' own numbers (stale: last close)."""
    usd, gbp = (float(x) for x in FX[day])
    to_base = {("USD", "USD"): 1.0, ("GBP", "GBP"): 1.0, ("GBP", "USD"): usd / gbp, ("USD", "GBP"): gbp / usd}
    total = float(cash)
    for sym, qty in HOLD[acct].items():
        close = next(float(CLOSES[d][sym]) for d in (day, D2, D1) if d <= day and sym in CLOSES[d])
        total += qty * close * to_base[(CCY[sym], BASE[acct])]
    return total


@pytest.fixture
def book(database: Database) -> Database:
    ids = build(database)
    with database.transaction() as s:
        us = s.scalars(select(Account).where(Account.code == "A000001")).one()
        s.add(TaxLot(account_id=us.id, security_id=ids["VODX.L"], lot_ref="L-VOD-US", quantity=Decimal(200),
                     unit_cost=Decimal(2), acquired=date(2025, 1, 6), fx_rate=Decimal("1.25")))  # fmt: skip
        # The book's last fixings before the cycle starts (the rebuilt risk history reads the day before D1).
        for quote, rate in (("USD", "1.0990"), ("GBP", "0.8490")):
            s.add(FxRate(base="EUR", quote=quote, date=date(2026, 10, 30), rate=Decimal(rate), source="test"))
    return database


def _close(db: Database, inbox: Path, day: date, **kw: Any) -> Any:
    return close_day(db, day, OPS, inbox=inbox, kinds=inbox_kinds(), **kw)


def _values(db: Database, day: date) -> dict[str, AccountDailyValue]:
    with db.session() as s:
        rows = s.execute(
            select(Account.code, AccountDailyValue).join(Account).where(AccountDailyValue.day == day)
        ).all()
        return {code: v for code, v in rows}


def _step(result: Any, name: str) -> dict[str, Any]:
    return next(st for st in result.as_dict()["steps"] if st["name"] == name)


def test_three_days_from_files(book: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop_day(inbox, D1)
    r1 = _close(book, inbox, D1)
    assert r1.status == "closed" and [st["status"] for st in r1.as_dict()["steps"]] == ["done"] * 7
    assert _step(r1, "load")["counts"]["loaded_by_kind"] == {"fx-ecb": 1, "prices-eod": 1}
    v1 = _values(book, D1)
    for acct in HOLD:
        assert float(v1[acct].value) == pytest.approx(expected_value(acct, D1), abs=0.01)
        assert v1[acct].flows == 0 and v1[acct].stale == 0

    # Day 2: a deposit, and a bad late price file that is refused whole while the rest loads.
    with book.transaction() as s:
        book_cash_flow(s, account="A000001", currency="USD", amount=DEPOSIT, on=D2, source_ref="DEP-1")
    drop_day(inbox, D2, bad_prices=True)
    r2 = _close(book, inbox, D2)
    assert r2.status == "closed"
    load = _step(r2, "load")
    assert load["counts"]["loaded"] == 2 and load["counts"]["refused"] == 1 and load["counts"]["skipped"] == 2
    (refused,) = load["exceptions"]
    assert refused["file"] == f"prices/late-{D2}.csv"
    assert refused["problems"] == [{"row": 2, "field": "close", "reason": refused["problems"][0]["reason"]}]
    assert refused["problems"][0]["reason"] == "close '-5' is negative; it must be greater than zero"
    with book.session() as s:
        bad = s.scalars(select(InboxFile).where(InboxFile.name == f"prices/late-{D2}.csv")).one()
        assert bad.status == "refused" and bad.errors[0]["field"] == "close"
    v2 = _values(book, D2)
    assert float(v2["A000001"].value) == pytest.approx(expected_value("A000001", D2, DEPOSIT), abs=0.01)
    assert v2["A000001"].flows == DEPOSIT and v2["A000001"].cash_flows == DEPOSIT
    assert v2["A000002"].flows == 0

    # Day 3: BPX.L has no close (stale), and the custodian's statement reconciles.
    drop_day(inbox, D3, statement=True)
    r3 = _close(book, inbox, D3)
    assert r3.status == "closed"
    revalue = _step(r3, "revalue")
    assert [e["name"] for e in revalue["exceptions"] if e["kind"] == "stale_price"] == ["BPX.L"]
    assert revalue["counts"]["accounts_with_stale_data"] == 1
    assert _step(r3, "reconcile")["counts"]["custodians"] == 1
    assert _step(r3, "reconcile")["counts"]["by_custodian"][CUST]["matched"] == 5
    assert _step(r3, "drift")["counts"]["accounts"] == 2
    v3 = _values(book, D3)
    assert v3["A000002"].stale == 1
    for acct in HOLD:
        cash = DEPOSIT if acct == "A000001" else Decimal(0)
        assert float(v3[acct].value) == pytest.approx(expected_value(acct, D3, cash), abs=0.01)

    # Performance reads the stored values and flows: TWR by hand, the deposit taken out.
    a1 = [expected_value("A000001", D1), expected_value("A000001", D2, DEPOSIT),
          expected_value("A000001", D3, DEPOSIT)]  # fmt: skip
    twr = ((a1[1] - float(DEPOSIT)) / a1[0]) * (a1[2] / a1[1]) - 1
    with book.session() as s:
        ids = [s.scalars(select(Account.id).where(Account.code == c)).one() for c in ("A000001", "A000002")]
        doc = performance_report(s, ids, D1, D3, stored=stored_history)
        rebuilt = performance_report(s, ids[:1], D2, D3)  # without the stored series: rebuilt
    row = doc["rows"][0]
    assert row["source"] == "daily_values" and row["twr"] == pytest.approx(twr, abs=1e-6)
    assert (
        row["net_flows"] == float(DEPOSIT) and row["from"] == D1.isoformat() and row["to"] == D3.isoformat()
    )
    assert doc["rows"][1]["source"] == "daily_values"
    assert rebuilt["rows"][0]["source"] == "reconstructed"
    with book.session() as s:
        assert stored_history(s, ids[0], date(2026, 11, 1), D3) is None  # nothing closed by the start
        part = stored_history(s, ids[0], D2, date(2026, 11, 8))
        assert part is not None and list(part.index.date) == [D2, D3]
        assert part["flow"].tolist() == [float(DEPOSIT), 0.0]
    # The desktop's performance view charts the same stored series.
    seen = performance_view(book, ids[0], days=(D3 - D1).days)
    assert seen.performance["source"] == "daily_values"
    assert seen.value.tolist() == pytest.approx(a1, abs=0.01)

    # Re-running a closed day does nothing: no new step transitions, no file read again.
    with book.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    again = _close(book, inbox, D3)
    assert again.status == "closed" and again.note == "already closed"
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
    # A date before the last closed one is refused without --rerun (nothing recorded).
    with pytest.raises(DayCycleError, match="before the last closed date"):
        _close(book, inbox, date(2026, 10, 30))
    assert day_status(book, date(2026, 10, 30)).status == "none"


def _failing(name: str, calls: list[int]) -> tuple[Step, ...]:
    """The cycle's steps with `name` raising (a fault injected by the test, not by a flag)."""

    def boom(ctx: Any, session: Any) -> Any:
        calls.append(1)
        raise RuntimeError("disk on fire")

    return tuple(Step(st.name, boom, st.transactional) if st.name == name else st for st in STEPS)


def test_a_failed_step_resumes_where_it_stopped(book: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop_day(inbox, D1)
    calls: list[int] = []
    r = _close(book, inbox, D1, steps=_failing("daily_values", calls))
    assert r.status == "failed" and calls == [1]
    statuses = {st["name"]: st["status"] for st in r.as_dict()["steps"]}
    assert statuses == {"load": "done", "corporate_actions": "done", "settle": "done", "revalue": "done",
                        "daily_values": "failed"}  # fmt: skip
    assert _step(r, "daily_values")["exceptions"][0]["reason"] == "disk on fire"
    assert _values(book, D1) == {}  # nothing of the failed step was kept
    with book.session() as s:
        loaded_at = {f.name: f.recorded_at for f in s.scalars(select(InboxFile))}
    r2 = _close(book, inbox, D1)
    assert r2.status == "closed" and [st["status"] for st in r2.as_dict()["steps"]] == ["done"] * 7
    assert len(_values(book, D1)) == 2
    with book.session() as s:
        assert {f.name: f.recorded_at for f in s.scalars(select(InboxFile))} == loaded_at  # not reloaded
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.action.like("day.%")))]
    assert actions.count("day.run.fail") == 1 and actions.count("day.run.resume") == 1
    assert actions.count("day.step.fail") == 1 and actions.count("day.step.retry") == 1
    assert actions.count("day.step.start") == 7 and actions.count("day.run.close") == 1
    assert day_status(book, D1).status == "closed"


def test_a_user_without_day_close_is_refused(book: Database, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        close_day(book, D1, "tara.trader", inbox=tmp_path, kinds=inbox_kinds())
    with book.session() as s:
        assert s.scalar(select(func.count()).select_from(DayRun)) == 0
        assert s.scalar(select(func.count()).select_from(DayStep)) == 0
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "permission.denied")).all()
        assert [(e.username, e.entity_id) for e in denied] == [("tara.trader", "day.close")]


def test_a_file_no_reader_takes_is_refused_and_the_rest_loads(book: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop_day(inbox, D1)
    (inbox / "notes.txt").write_text("hello", encoding="utf-8")
    r = _close(book, inbox, D1)
    load = _step(r, "load")
    assert load["counts"]["loaded"] == 2 and load["counts"]["refused"] == 1
    assert load["exceptions"][0]["problems"][0]["field"] == "(file)"
