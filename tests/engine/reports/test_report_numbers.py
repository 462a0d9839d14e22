"""Report numbers as a desk reads them: minor units per currency, totals equal to the lines shown,
no exponent notation, weights adding up to 100.00%. Expected figures are worked out here
independently (Decimal arithmetic on the printed text and on raw rows), not by the report code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

import resources
from engine.demo.build import build_demo_book
from engine.reports.holdings import holdings_report
from engine.reports.numbers import allocate, fmt_money, fmt_percent, fmt_quantity, percent_lines
from engine.reports.scope import account_ids
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from workstation.cli.main import main

AS_OF = date(2026, 10, 30)


# ---- the rounding itself, with hand-worked expected values ---------------------------------------
def test_allocate_hands_the_missing_cent_to_the_largest_remainder() -> None:
    # 1/3 each of 100.00: the floors give 99.99; the missing cent goes to the first of the ties
    assert allocate([Decimal(100) / 3] * 3, 2) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    # 10.004 + 20.004 + 30.004 = 60.012 -> 60.01: each rounded alone gives 60.00 (a cent short)
    assert allocate([10.004, 20.004, 30.004], 2) == [Decimal("10.01"), Decimal("20.00"), Decimal("30.00")]
    # yen: no decimals; 0.6 + 0.6 + 0.6 = 1.8 -> 2 yen, each alone would be 1 (3 yen shown)
    assert allocate([0.6, 0.6, 0.6], 0) == [Decimal(1), Decimal(1), Decimal(0)]
    assert allocate([], 2) == []
    # a given total: parts of a rounded gain
    assert allocate([1.005, -0.004], 2, total=Decimal("1.00")) == [Decimal("1.00"), Decimal("0.00")]


@given(
    st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=40),
    st.integers(min_value=0, max_value=3),
)
def test_allocate_adds_up_and_moves_each_line_less_than_a_unit(values: list[float], places: int) -> None:
    out = allocate(values, places)
    exact = [Decimal(repr(v)) for v in values]
    unit = Decimal(1).scaleb(-places)
    assert sum(out) == sum(exact).quantize(unit)
    assert all(abs(o - e) < unit for o, e in zip(out, exact))


def test_formats() -> None:
    assert fmt_money(1234567.891, "USD") == "1,234,567.89"
    assert fmt_money(1234567.5, "JPY") == "1,234,568"
    assert fmt_money(1234567.4, "JPY") == "1,234,567"
    assert fmt_money(1234.5678, "KWD") == "1,234.568"
    assert fmt_money(-0.001, "USD") == "0.00"
    assert fmt_quantity(1e6) == "1,000,000"
    assert fmt_quantity(2.5e7) == "25,000,000"
    assert fmt_quantity(12.5) == "12.5"
    assert fmt_quantity(0.000125) == "0.000125"
    assert fmt_quantity(0.1 + 0.2) == "0.3"
    assert fmt_percent(0.123456) == "12.35%"
    # three equal weights of one whole: 100.00% shown, not 99.99%
    assert percent_lines([1 / 3, 1 / 3, 1 / 3]) == ["33.34%", "33.33%", "33.33%"]


# ---- reports on a demo book ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    """A 40-account demo book (JPY accounts among them) and one account holding a million shares."""
    from tests.conftest import migrated

    url = f"sqlite:///{tmp_path_factory.mktemp('numbers') / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=40, seed=7, today=date(2026, 11, 22))
    with database.transaction() as s:
        lot = s.scalars(select(TaxLot).order_by(TaxLot.id)).first()
        assert lot is not None
        s.add(
            TaxLot(
                account_id=lot.account_id,
                security_id=lot.security_id,
                lot_ref="MILLION",
                quantity=Decimal(1_000_000),
                unit_cost=lot.unit_cost,
                acquired=lot.acquired,
                fx_rate=lot.fx_rate,
            )
        )
    yield database, url
    database.dispose()


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def _dec(text_: str) -> Decimal:
    return Decimal(text_.replace(",", "").rstrip("%"))


def test_text_holdings_lines_add_up_to_each_total(
    book: tuple[Database, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Every account of the book: the value (base) lines printed add up to the printed total, the
    printed weights to 100.00%, yen without decimals, no quantity in exponent notation."""
    db, url = book
    assert main(["--db", url, "report", "holdings", "--all"]) == 0
    out = capsys.readouterr().out
    assert "e+" not in out and "E+" not in out
    head, totals_part = out.split("\naccount  base", 1)
    lines: dict[str, list[list[str]]] = {}
    for line in head.splitlines()[3:]:
        if line.strip():
            c = _cells(line)
            lines.setdefault(c[0], []).append(c)
    totals = {c[0]: c for c in (_cells(x) for x in totals_part.splitlines()[2:] if x.strip())}
    assert len(totals) == 40 and set(lines) <= set(totals)
    for acct, rows in lines.items():
        base = totals[acct][1]
        decimals = 0 if base == "JPY" else 2
        shown = [r[-3] for r in rows]  # value (base), then base, weight
        assert all(len(v.split(".")[1]) == decimals if "." in v else decimals == 0 for v in shown), (
            acct,
            shown,
        )
        assert sum(_dec(v) for v in shown) == _dec(totals[acct][4]), acct
        assert sum(_dec(r[-1]) for r in rows) == Decimal("100.00"), acct
        securities = sum(_dec(r[-3]) for r in rows if not r[1].startswith("CASH"))
        assert securities == _dec(totals[acct][2]), acct
    with db.session() as s:
        big = s.scalars(select(TaxLot).where(TaxLot.lot_ref == "MILLION")).one()
        qty = sum(
            s.scalars(
                select(TaxLot.quantity).where(
                    TaxLot.account_id == big.account_id, TaxLot.security_id == big.security_id
                )
            )
        )
    assert qty >= 1_000_000 and f"  {int(qty):,}  " in out  # e.g. 1,000,420, never 1e+06
    assert any(t[1] == "JPY" and "." not in t[4] for t in totals.values())


def test_json_holdings_round_to_minor_units_and_add_up(book: tuple[Database, str]) -> None:
    db, _ = book
    with db.session() as s:
        ids = account_ids(s, everything=True)
        doc = holdings_report(s, ids, AS_OF)
        jpy = s.scalars(select(Account.code).where(Account.base_currency == "JPY")).all()
        # an independent local value of a JPY security's position, from raw rows
        raw = s.execute(
            text(
                """SELECT a.code, s.symbol, SUM(l.quantity), s.price_multiplier,
                   (SELECT close FROM prices p WHERE p.security_id = s.id AND p.date <= :d ORDER BY date DESC LIMIT 1)
                   FROM tax_lots l JOIN securities s ON s.id = l.security_id JOIN accounts a ON a.id = l.account_id
                   WHERE s.currency = 'JPY' GROUP BY a.code, s.id LIMIT 5"""
            ),
            {"d": AS_OF},
        ).all()
        assert s.scalar(select(Security.id).where(Security.currency == "JPY")) is not None
    assert jpy and raw
    by_key = {(r["account"], r["symbol"]): r for r in doc["rows"]}
    for code, symbol, qty, mult, close in raw:
        expected = (Decimal(str(qty)) * Decimal(str(close)) * Decimal(str(mult))).quantize(Decimal(1))
        got = by_key[(code, symbol)]["market_value_local"]
        assert abs(Decimal(repr(got)) - expected) <= 1 and got == int(got)
    for t in doc["totals"]:
        mine = [r for r in doc["rows"] if r["account"] == t["account"]]
        cash = [c for c in doc["cash"] if c["account"] == t["account"]]
        places = 0 if t["base_currency"] == "JPY" else 2
        unit = Decimal(1).scaleb(-places)
        values = [Decimal(repr(x["market_value_base"])) for x in mine] + [
            Decimal(repr(c["value_base"])) for c in cash
        ]
        assert all(v == v.quantize(unit) for v in values)
        assert sum(values) == Decimal(repr(t["total_base"]))
        if values:
            ws = [Decimal(repr(x["weight"])) for x in mine + cash]
            assert sum(ws) == 1
