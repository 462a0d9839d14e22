"""Reports on a small simulated demo book, checked against independent SQL and arithmetic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

import resources
from engine.accounting.booking import LedgerBooker
from engine.demo.build import build_demo_book
from engine.errors import NotFound, WorkstationError
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.reports.exposure import exposure_report
from engine.reports.gains import gains_report
from engine.reports.holdings import holdings_report
from engine.reports.performance import performance_report, risk_report
from engine.reports.scope import account_ids
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import account_row
from workstation.cli.main import main

AS_OF = date(2026, 10, 30)
HOLDING_KEYS = {
    "account", "symbol", "isin", "mic", "quantity", "price", "currency",
    "market_value_local", "market_value_base", "base_currency", "weight", "as_of",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    from tests.conftest import migrated

    url = f"sqlite:///{tmp_path_factory.mktemp('rep') / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=6, seed=7, today=date(2026, 11, 22))
    with database.transaction() as s:
        hh = s.scalars(select(Household)).first()
        assert hh is not None
        s.add(account_row("EMPTY1", hh.id))
    yield database, url
    database.dispose()


def _rate(db: Database, ccy: str, base: str, on: date) -> float:
    """EUR-pivot cross rate straight from the fx_rates rows (last fixing on or before `on`)."""

    def per_eur(c: str) -> float:
        if c == "EUR":
            return 1.0
        with db.session() as s:
            return float(
                s.execute(
                    text(
                        "SELECT rate FROM fx_rates WHERE base='EUR' AND quote=:c AND date<=:d ORDER BY date DESC LIMIT 1"
                    ),
                    {"c": c, "d": on},
                ).scalar_one()
            )

    return per_eur(base) / per_eur(ccy)


def test_holdings_match_independent_sql(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        code = "A000001"
        ids = account_ids(s, [code])
        doc = holdings_report(s, ids, AS_OF)
        raw = s.execute(
            text(
                """SELECT s.symbol, SUM(l.quantity), s.currency, s.price_multiplier,
                   (SELECT close FROM prices p WHERE p.security_id = s.id AND p.date <= :d ORDER BY date DESC LIMIT 1)
                   FROM tax_lots l JOIN securities s ON s.id = l.security_id JOIN accounts a ON a.id = l.account_id
                   WHERE a.code = :a GROUP BY s.id"""
            ),
            {"a": code, "d": AS_OF},
        ).all()
        base = s.scalars(select(Account.base_currency).where(Account.code == code)).one()
    rows = {r["symbol"]: r for r in doc["rows"]}
    assert len(rows) == len(raw) > 0
    for symbol, qty, ccy, mult, close in raw:
        r = rows[symbol]
        assert set(r) >= HOLDING_KEYS
        local = float(qty) * float(close) * float(mult)
        assert r["market_value_local"] == pytest.approx(local, abs=0.01)
        assert r["market_value_base"] == pytest.approx(local * _rate(db, ccy, base, AS_OF), abs=0.02)
        assert r["base_currency"] == base and r["currency"] == ccy and r["as_of"] == "2026-10-30"
    weights = sum(r["weight"] for r in doc["rows"]) + sum(c["weight"] for c in doc["cash"])
    assert weights == pytest.approx(1.0, abs=1e-5)
    (tot,) = doc["totals"]
    assert tot["total_base"] == pytest.approx(
        sum(r["market_value_base"] for r in doc["rows"]) + sum(c["value_base"] for c in doc["cash"]), abs=0.05
    )


def test_exposure_sums_to_holdings(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        ids = account_ids(s, household="H000001")
        hold = holdings_report(s, ids, AS_OF)
        for by in ("currency", "sector", "country", "asset_class"):
            exp = exposure_report(s, ids, AS_OF, by=by)
            for t in hold["totals"]:
                mine = [r for r in exp["rows"] if r["group"] == t["account"]]
                assert sum(r["value"] for r in mine) == pytest.approx(t["total_base"], abs=0.05)
                if t["total_base"]:  # EMPTY1 (no lots, no cash) has no weights
                    assert sum(r["weight"] for r in mine) == pytest.approx(1.0, abs=1e-5)
        cur = exposure_report(s, ids, AS_OF, by="currency")
        firm = exposure_report(s, ids, AS_OF, by="currency", level="firm", report_currency="USD")
    # Currency exposure counts cash in its own currency.
    t0 = hold["totals"][0]["account"]
    by_ccy: dict[str, float] = {}
    for r in hold["rows"]:
        if r["account"] == t0:
            by_ccy[r["currency"]] = by_ccy.get(r["currency"], 0.0) + r["market_value_base"]
    for c in hold["cash"]:
        if c["account"] == t0:
            by_ccy[c["currency"]] = by_ccy.get(c["currency"], 0.0) + c["value_base"]
    got = {r["bucket"]: r["value"] for r in cur["rows"] if r["group"] == t0}
    assert got == pytest.approx(by_ccy, abs=0.05)
    assert {r["currency"] for r in firm["rows"]} == {"USD"}
    assert sum(r["weight"] for r in firm["rows"]) == pytest.approx(1.0, abs=1e-5)


def test_gains_report_shows_booked_sale_by_term(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.transaction() as s:
        acct = s.scalars(select(Account).where(Account.code == "A000002")).one()
        lot = s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id).order_by(TaxLot.acquired)).first()
        assert lot is not None
        sym = s.get(Security, lot.security_id).symbol  # type: ignore[union-attr]
        qty = Decimal(lot.quantity)
        r = LedgerBooker().book(s, TradeFill("A000002", sym, Side.SELL, qty, Decimal("10"), date(2026, 10, 29), "REP-S1", lots=((__import__("engine.model.trades", fromlist=["LotPick"]).LotPick(lot.lot_ref, qty)),)))  # fmt: skip
    with db.session() as s:
        doc = gains_report(s, account_ids(s, ["A000002"]), date(2026, 1, 1), AS_OF)
    (row,) = doc["realized"]
    assert row["lot_ref"] == lot.lot_ref and row["quantity"] == float(qty)
    assert row["gain_base"] == pytest.approx(float(r.realized[0].gain_base), abs=0.01)
    assert row["gain_base"] == pytest.approx(row["price_gain_base"] + row["fx_gain_base"], abs=0.011)
    (t,) = doc["totals"]
    key = f"realized_{row['term']}_base"
    assert t[key] == pytest.approx(row["recognized_gain_base"], abs=0.01)
    assert all(u["lot_ref"] != lot.lot_ref for u in doc["unrealized"])


def test_performance_end_value_matches_holdings_and_risk_runs(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        ids = account_ids(s, ["A000003"])
        hold = holdings_report(s, ids, AS_OF)
        perf = performance_report(s, ids, date(2026, 4, 1), AS_OF)
        risk = risk_report(s, ids, date(2026, 4, 1), AS_OF, confidence=0.95)
    (p,) = perf["rows"]
    assert p["end_value"] == pytest.approx(hold["totals"][0]["total_base"], abs=0.05)
    assert (1 + p["twr"]) == pytest.approx((1 + p["local_return"]) * (1 + p["currency_return"]), abs=1e-6)
    (r,) = risk["rows"]
    assert r["observations"] > 100 and 0 < r["historical_var"] <= r["expected_shortfall"]
    assert r["max_drawdown"] < 0


def test_account_with_no_lots(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        ids = account_ids(s, ["EMPTY1"])
        doc = holdings_report(s, ids, AS_OF)
        assert doc["rows"] == [] and doc["totals"][0]["total_base"] == 0.0
        perf = performance_report(s, ids, date(2026, 9, 1), AS_OF)
        assert perf["rows"][0]["twr"] == 0.0
        risk = risk_report(s, ids, date(2026, 9, 1), AS_OF)
        assert "note" in risk["rows"][0]  # no variation: ratios are undefined, said in words
        with pytest.raises(NotFound):
            account_ids(s, ["NOPE"])
        with pytest.raises(WorkstationError, match="exactly one"):
            account_ids(s, ["EMPTY1"], household="H000001")


def test_cli_json_and_errors(demo: tuple[Database, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, url = demo
    assert main(["--db", url, "report", "holdings", "--account", "A000001", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == "holdings" and set(doc["rows"][0]) >= HOLDING_KEYS
    assert main(["--db", url, "report", "exposure", "--all", "--by", "country", "--level", "firm"]) == 0
    out = capsys.readouterr().out
    assert "Exposure by country at firm level" in out and "USD" in out
    assert main(["--db", url, "report", "gains", "--household", "H000001"]) == 0
    assert "realized ST" in capsys.readouterr().out
    assert main(["--db", url, "report", "holdings", "--account", "NOPE"]) == 2
    assert "no account 'NOPE'" in capsys.readouterr().err


def test_book_cache_revalue_matches_value_lots(demo: tuple[Database, str]) -> None:
    from engine.pricing.cache import BookCache, price_series, revalue
    from engine.pricing.fx import FxTable
    from engine.pricing.valuation import value_lots

    db, _ = demo
    with db.session() as s:
        fx = FxTable.load(s, end=AS_OF)
        cache = BookCache.load(s, AS_OF, fx)
        fast = revalue(cache.lots, price_series(s, AS_OF), fx, AS_OF)
        slow = value_lots(s, AS_OF, fx)
    a = fast.set_index("lot_id").sort_index()
    b = slow.set_index("lot_id").sort_index()
    assert list(a.index) == list(b.index)
    for col in ("price", "mv_local", "fx_now", "mv_base", "cost_base"):
        assert a[col].to_numpy() == pytest.approx(b[col].to_numpy(), rel=1e-12)
