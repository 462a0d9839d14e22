"""A statement of the hand-worked book of tests/engine/reports/test_history.py (account A1, USD,
2026Q1), its numbers checked against hand computations and against the text of the PDF.

On top of that book: a custodian fee of 25 USD on 03-13 (so gross and net of fees differ) and a
model of 100% XYZ (the benchmark: XYZ's split-adjusted close, 19 on 03-02 to 2 x 12.5 on 03-16).
Holdings at 31 March are valued at the last closes (03-16): XYZ 70 x 12.5 = 875, RY.TO 10 x 107
CAD = 1,070 CAD = 769.0625 USD, ABC 10 x 54 = 540, cash 8,040 - 25 USD and 600 CAD = 431.25 USD.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from engine.accounting.cash import post_cash
from engine.errors import PermissionDenied
from engine.reports.scope import account_ids
from engine.statements.build import build_batch
from engine.statements.pdf import account_flowables, render
from engine.statements.period import parse_period
from engine.statements.run import Job, generate, run_job
from engine.statements.service import plan
from engine.store.accounts import Account, Model, ModelComponent
from engine.store.database import Database
from engine.store.people import User
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.reports.test_history import FLOW, VALUE, book, day  # noqa: F401  (`book` is a fixture)

FEE_DAY = 9  # index of 03-13 in DAYS
VALUE_AFTER_FEE = [v - (25 if i >= FEE_DAY else 0) for i, v in enumerate(VALUE)]
END = 875 + 1070 * 0.71875 + 540 + 8040 - 25 + 600 * 0.71875


def _twr(values: list[float], flows: list[float]) -> float:
    return math.prod((values[i] - flows[i]) / values[i - 1] for i in range(1, len(values))) - 1


@pytest.fixture
def q1(book: Database) -> Iterator[tuple[Database, int]]:  # noqa: F811
    with book.transaction() as s:
        a1 = s.scalars(select(Account).where(Account.code == "A1")).one()
        post_cash(
            s, account_id=a1.id, currency="USD", amount=Decimal(-25), kind="fee", trade_date=day("03-13"),
            settle_date=day("03-13"), booking_id=None, note="custody fee", settled=True,
        )  # fmt: skip
        m = Model(code="M1", name="all XYZ")
        s.add(m)
        s.flush()
        xyz = s.scalars(select(Security.id).where(Security.symbol == "XYZ")).one()
        s.add(ModelComponent(model_id=m.id, security_id=xyz, weight=Decimal(1)))
        a1.model_id = m.id
        s.add(User(username="olga", display_name="Olga", role="operations", active=True))
        s.add(User(username="tara", display_name="Tara", role="trader", active=True))
        aid = a1.id
    yield book, aid


def test_figures_match_the_hand_worked_book(q1: tuple[Database, int]) -> None:
    db, aid = q1
    with db.session() as s:
        (doc,) = build_batch(s, [aid], parse_period("2026Q1"))
    assert doc["locale"] == "en_US" and doc["base_currency"] == "USD"
    t = doc["totals"]
    assert t["total_base"] == pytest.approx(round(END, 2), abs=1e-9)  # 10,630.31
    assert t["cash_base"] == pytest.approx(round(8015 + 431.25, 2), abs=1e-9)
    pos = {p["symbol"]: p for p in doc["positions"]}
    assert pos["XYZ"]["quantity"] == 70 and pos["XYZ"]["value_base"] == 875.0  # the split unwound
    assert pos["RY.TO"]["value_local"] == 1070.0 and pos["RY.TO"]["value_base"] == 769.06
    assert pos["XYZ"]["unrealized_base"] == 175.0  # 70 x (12.5 - 10), cost 20 per pre-split share
    assert pos["RY.TO"]["unrealized_base"] == 50.31  # (1,070 - 1,000) CAD x 0.71875
    assert pos["ABC"]["unrealized_base"] == 90.0  # 10 x (54 - 45)
    g = doc["gains"]
    assert g["realized_short"] + g["realized_long"] + g["realized_none"] == 180.0  # 40 x 2 + 50 x 2
    unreal = g["unrealized_short"] + g["unrealized_long"] + g["unrealized_none"]
    assert unreal == pytest.approx(315.31, abs=0.011)
    a = doc["activity"]
    assert (a["deposits"], a["withdrawals"], a["income"], a["withholding"], a["fees"]) == (
        10000.0, -500.0, 60.0, 0.0, -25.0,
    )  # fmt: skip
    assert a["trades"] == 4 and [x["amount_local"] for x in doc["trades"]] == [-2000.0, -1000.0, 880.0, 600.0]
    # The account opened in the quarter: nothing at the start, its first value is money brought in.
    assert a["start_value"] == 0.0 and a["net_flows"] == 10000.0 and a["other_flows"] == 500.0  # ABC in kind
    # 355 on XYZ + 50.3125 on RY.TO + 40 on ABC since it arrived + 150 on the FX spot (1,600 CAD for 1,000 USD)
    assert a["market_change"] == pytest.approx(595.31, abs=1e-9)
    parts = ("start_value", "net_flows", "income_net", "fees", "market_change")
    assert sum(Decimal(str(a[k])) for k in parts) == Decimal(str(a["end_value"]))
    perf = {w["window"]: w for w in doc["performance"]["windows"]}
    assert doc["performance"]["source"] == "reconstructed" and doc["benchmark"] == "model M1"
    assert perf["quarter"]["net"] is None  # the history starts after the quarter's opening
    inc = perf["inception"]
    fee_flow = [f - (25 if i == FEE_DAY else 0) for i, f in enumerate(FLOW)]
    assert inc["from"] == "2026-03-02"
    assert inc["net"] == pytest.approx(_twr(VALUE_AFTER_FEE, FLOW), abs=1e-12)
    assert inc["gross"] == pytest.approx(_twr(VALUE_AFTER_FEE, fee_flow), abs=1e-12)
    assert inc["benchmark"] == pytest.approx(25 / 19 - 1, abs=1e-12)


def _text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_pdf_text_shows_the_figures_in_the_locale_and_is_deterministic(q1: tuple[Database, int]) -> None:
    db, aid = q1
    with db.session() as s:
        (doc,) = build_batch(s, [aid], parse_period("2026Q1"))
        (de,) = build_batch(s, [aid], parse_period("2026Q1"), locale="de-DE")
    data, pages = render(account_flowables(doc), "Statement 2026Q1 of account A1")
    again, _ = render(account_flowables(doc), "Statement 2026Q1 of account A1")
    assert data == again and data.startswith(b"%PDF") and pages >= 2
    text = _text(data)
    for shown in ("10,630.31", "595.31", "10,000.00", "-500.00", "60.00", "-25.00", "180.00", "769.06"):
        assert shown in text, shown
    inc = next(w for w in doc["performance"]["windows"] if w["window"] == "inception")
    assert f"{inc['net'] * 100:.2f} %" in text and "31.58 %" in text  # benchmark 25 / 19 - 1
    assert "Mar 2, 2026" in text and "model M1" in text
    text_de = _text(render(account_flowables(de), "x")[0])
    assert de["locale"] == "de_DE"
    assert "10.630,31" in text_de and "31,58 %" in text_de and "02.03.2026" in text_de


def test_permission_and_batch_files(q1: tuple[Database, int], tmp_path: Path) -> None:
    db, _ = q1
    with db.session() as s, pytest.raises(PermissionDenied):
        plan(s, "tara", "2026Q1", tmp_path, accounts=["A1"])
    with db.session() as s:
        period, jobs = plan(s, "olga", "2026Q1", tmp_path, household="H1")
        assert period.first == date(2026, 1, 1) and period.last == date(2026, 3, 31)
        (job,) = jobs
        assert job.households == ("H1",) and len(job.account_ids) == len(account_ids(s, household="H1"))
        results = run_job(s, Job(job.url, job.period, str(tmp_path), None, job.account_ids, job.households))
    by = {r.get("account") or r.get("household"): r for r in results}
    # A2 and A3 hold nothing and did nothing: no statement, and the reason given.
    assert (
        by["A2"]["skipped"]
        == by["A3"]["skipped"]
        == "no holdings at the end of the period and no activity in it"
    )
    assert (
        by["A1"]["file"] == "2026Q1-A1.pdf" and (tmp_path / "2026Q1-A1.pdf").stat().st_mode & 0o777 == 0o600
    )
    h = by["H1"]
    assert h["accounts"] == ["A1"] and h["currency"] == "USD" and h["total"] == pytest.approx(round(END, 2))
    assert "10,630.31" in _text((tmp_path / "2026Q1-H1.pdf").read_bytes())


def test_a_bad_account_fails_alone_and_the_others_are_written(
    q1: tuple[Database, int], tmp_path: Path
) -> None:
    """A2 holds SAP, which has no price at all: its batch is run again account by account."""
    db, _ = q1
    with db.transaction() as s:
        a2 = s.scalars(select(Account.id).where(Account.code == "A2")).one()
        sap = s.scalars(select(Security.id).where(Security.symbol == "SAP")).one()
        s.add(TaxLot(account_id=a2, security_id=sap, lot_ref="SAP-1", quantity=Decimal(5), unit_cost=Decimal(100),
                     acquired=day("03-02"), fx_rate=Decimal(1)))  # fmt: skip
    with db.session() as s:
        _, jobs = plan(s, "olga", "2026Q1", tmp_path / "out", household="H1")
    results = generate(lambda _url: db, jobs, workers=1)
    by = {r.get("account") or r.get("household"): r for r in results}
    assert by["A2"]["failed"] == "SAP is held on 2026-03-31 but has no price on or before it"
    assert by["A1"]["file"] == "2026Q1-A1.pdf" and "skipped" in by["A3"]
    assert by["H1"]["failed"] == by["A2"]["failed"]  # its household's statement would be incomplete
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2026Q1-A1.pdf"]
