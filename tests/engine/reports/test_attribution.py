"""Attribution on a stored demo book: the effects add up to the active return, and the portfolio and
benchmark returns are exactly those of `report performance` for the same account and period."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

import resources
from engine.demo.build import build_demo_book
from engine.errors import NotFound
from engine.reports.attribution import attribution_input, attribution_report
from engine.reports.holdings import holdings_report
from engine.reports.performance import performance_report
from engine.reports.scope import account_ids
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.reference import Security
from tests.engine.accounting.book import account_row
from workstation.cli.main import main

AS_OF = date(2026, 10, 30)
KEYS = {
    "account", "base_currency", "from", "to", "portfolio_return", "benchmark_return", "active_return",
    "segments", "totals", "currency_effect", "residual",
}  # fmt: skip
SEGMENT_KEYS = {"segment", "wp", "wb", "rp", "rb", "allocation", "selection", "interaction", "currency"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    from tests.conftest import migrated

    url = f"sqlite:///{tmp_path_factory.mktemp('attr') / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=4, seed=7, today=date(2026, 11, 22))
    with database.transaction() as s:
        hh = s.scalars(select(Household).order_by(Household.code.desc())).first()
        assert hh is not None
        s.add(account_row("NOMODEL", hh.id))  # the last household; H000001 keeps only model accounts
    yield database, url
    database.dispose()


@pytest.mark.parametrize("by", ["sector", "asset_class", "currency"])
def test_effects_sum_to_active_and_returns_match_report_performance(
    demo: tuple[Database, str], by: str
) -> None:
    db, _ = demo
    with db.session() as s:
        codes = list(
            s.scalars(select(Account.code).where(Account.model_id.is_not(None)).order_by(Account.code))
        )
        currencies = set()
        for code in codes:
            doc = attribution_report(s, code, date(2026, 4, 1), AS_OF, by=by)
            (perf,) = performance_report(s, account_ids(s, [code]), date(2026, 4, 1), AS_OF)["rows"]
            currencies.add(doc["base_currency"])
            assert set(doc) >= KEYS and all(set(r) == SEGMENT_KEYS for r in doc["segments"])
            assert (doc["from"], doc["to"]) == (perf["from"], perf["to"])
            assert doc["portfolio_return"] == pytest.approx(perf["twr"], abs=1e-6)
            assert doc["benchmark_return"] == pytest.approx(perf["benchmark_return"], abs=1e-6)
            assert doc["active_return"] == pytest.approx(perf["active_return"], abs=2e-6)
            t = doc["totals"]
            effects = t["allocation"] + t["selection"] + t["interaction"] + doc["currency_effect"]
            # The stated identity: A + S + I + currency (+ residual) = Rp - Rb, residual ~ 0 with Carino.
            assert effects + doc["residual"] == pytest.approx(doc["active_return"], abs=1e-7)
            assert abs(doc["residual"]) < 1e-8
            for e in ("allocation", "selection", "interaction"):
                assert sum(r[e] for r in doc["segments"]) == pytest.approx(t[e], abs=1e-6)
            assert sum(r["currency"] for r in doc["segments"]) == pytest.approx(
                doc["currency_effect"], abs=1e-6
            )
            assert sum(r["wp"] for r in doc["segments"]) == pytest.approx(1.0, abs=1e-6)
            assert sum(r["wb"] for r in doc["segments"]) == pytest.approx(1.0, abs=1e-6)
            assert abs(doc["active_return"]) > 1e-4  # a real, nonzero active return is explained
            if by == "currency":  # the account's own currency has no currency effect
                own = [r for r in doc["segments"] if r["segment"] == doc["base_currency"]]
                assert all(abs(r["currency"]) < 1e-12 for r in own)
        assert len(currencies) > 1  # a non-USD base account is among them (currency effect exercised)


def test_start_of_day_weights_are_the_holdings_weights(demo: tuple[Database, str]) -> None:
    """Independent: the first day's sector weights equal `report holdings` on the first date."""
    db, _ = demo
    with db.session() as s:
        acct = s.scalars(select(Account).where(Account.model_id.is_not(None)).order_by(Account.code)).first()
        assert acct is not None
        first, x = attribution_input(s, acct, date(2026, 10, 26), AS_OF, by="sector")
        hold = holdings_report(s, [acct.id], first)
        sector = dict(s.execute(select(Security.symbol, Security.sector)).all())
        expect: dict[str, float] = defaultdict(float)
        for r in hold["rows"]:
            expect[sector[r["symbol"]]] += float(r["weight"])
        for seg, w in x.wp.iloc[0].items():
            if seg != "cash":
                assert w == pytest.approx(expect.get(str(seg), 0.0), abs=1e-5), seg  # weights to 6 dp per row
        assert x.wp.iloc[0]["cash"] == pytest.approx(1.0 - sum(expect.values()), abs=1e-5)


def test_cli_json_text_and_errors(demo: tuple[Database, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, url = demo
    args = ["--db", url, "report", "attribution", "--account", "A000001", "--from", "2026-06-01"]
    assert main([*args, "--to", "2026-10-30", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= KEYS and doc["account"] == "A000001" and doc["to"] == "2026-10-30"
    assert main([*args, "--by", "asset_class"]) == 0
    out = capsys.readouterr().out
    assert "Carino" in out and "equity" in out and "active" in out
    assert main(["--db", url, "report", "attribution", "--account", "NOPE"]) == 2
    assert "error: no account 'NOPE'" in capsys.readouterr().err
    assert main(["--db", url, "report", "attribution", "--account", "NOMODEL"]) == 2
    assert "no model" in capsys.readouterr().err
    hh = ["--db", url, "report", "attribution", "--household", "H000001", "--currency", "EUR", "--json"]
    assert main(hh) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["household"] == "H000001" and doc["base_currency"] == "EUR" and doc["segments"]
    # The last household holds NOMODEL: refused with the account named, nothing half-computed.
    assert main(["--db", url, "report", "attribution", "--household", "H000002"]) == 2
    assert "account NOMODEL has no model" in capsys.readouterr().err


def test_account_without_model_or_a_one_day_range_is_refused(demo: tuple[Database, str]) -> None:
    from engine.analytics.errors import AnalyticsError

    db, _ = demo
    with db.session() as s:
        with pytest.raises(NotFound, match="no model"):
            attribution_report(s, "NOMODEL", date(2026, 9, 1), AS_OF)
        with pytest.raises(AnalyticsError, match="at least two price dates"):
            attribution_report(s, "A000001", AS_OF, AS_OF)
        with pytest.raises(AnalyticsError, match="--by must be one of"):
            attribution_report(s, "A000001", date(2026, 9, 1), AS_OF, by="country")


def test_identity_and_twr_on_both_backends(database: Database) -> None:
    """The same checks on a fresh small demo book in SQLite and in PostgreSQL."""
    build_demo_book(database, resources.path("reference"), accounts=2, seed=11, today=date(2026, 11, 22))
    with database.session() as s:
        for code in s.scalars(select(Account.code).where(Account.model_id.is_not(None))):
            doc = attribution_report(s, code, date(2026, 8, 3), AS_OF)
            (perf,) = performance_report(s, account_ids(s, [code]), date(2026, 8, 3), AS_OF)["rows"]
            assert doc["portfolio_return"] == pytest.approx(perf["twr"], abs=1e-6)
            assert doc["benchmark_return"] == pytest.approx(perf["benchmark_return"], abs=1e-6)
            t = doc["totals"]
            total = t["allocation"] + t["selection"] + t["interaction"] + doc["currency_effect"]
            assert total == pytest.approx(doc["active_return"], abs=1e-7)


def test_household_combines_accounts_and_matches_household_twr(demo: tuple[Database, str]) -> None:
    """Independent: the household return is the TWR of its accounts' summed values and flows in USD."""
    from engine.analytics import time_weighted_return
    from engine.pricing.fx import FxTable
    from engine.reports.attribution import household_attribution_report
    from engine.reports.history import account_history

    db, _ = demo
    start = date(2026, 6, 1)
    with db.session() as s:
        hh = s.scalars(select(Household).where(Household.code == "H000001")).one()
        codes = [a.code for a in hh.accounts]
        assert len(codes) > 1 and all(a.model_id is not None for a in hh.accounts)
        assert len({a.model_id for a in hh.accounts}) > 1  # different models: a blended benchmark
        doc = household_attribution_report(s, hh.code, start, AS_OF, currency="USD")
        fx = FxTable.load(s, start=start, end=AS_OF)
        values = flows = None
        for a in hh.accounts:
            f = account_history(s, a.id, start, AS_OF, fx).frame
            rate = fx.rates([a.base_currency] * len(f), ["USD"] * len(f), list(f.index.date))
            values = f["value"] * rate if values is None else values + f["value"] * rate
            flows = f["flow"] * rate if flows is None else flows + f["flow"] * rate
        assert values is not None and flows is not None
        twr = time_weighted_return(values, flows[flows != 0])
    assert doc["household"] == hh.code and doc["base_currency"] == "USD" and doc["accounts"] == sorted(codes)
    assert doc["portfolio_return"] == pytest.approx(twr, abs=1e-7)
    t = doc["totals"]
    total = t["allocation"] + t["selection"] + t["interaction"] + doc["currency_effect"]
    assert total == pytest.approx(doc["active_return"], abs=1e-7) and abs(doc["residual"]) < 1e-8
    assert sum(r["wp"] for r in doc["segments"]) == pytest.approx(1.0, abs=1e-6)
    assert sum(r["wb"] for r in doc["segments"]) == pytest.approx(1.0, abs=1e-6)
