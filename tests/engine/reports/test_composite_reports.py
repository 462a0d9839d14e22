"""Household performance and model composites on a demo book, checked against the analytics'
own time-weighted return (engine.analytics.time_weighted_return) and `report performance`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select

import resources
from engine.analytics import time_weighted_return
from engine.demo.build import build_demo_book
from engine.pricing.fx import FxTable
from engine.reports.composite import composite_report, household_performance
from engine.reports.history import account_history
from engine.reports.performance import performance_report
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database
from workstation.cli.main import main

START, END = date(2026, 5, 29), date(2026, 11, 20)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    from tests.conftest import migrated

    url = f"sqlite:///{tmp_path_factory.mktemp('comp') / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=12, seed=11, today=date(2026, 11, 22))
    yield database, url
    database.dispose()


def test_household_return_is_the_twr_of_its_summed_values_and_flows(demo: tuple[Database, str]) -> None:
    db, _ = demo
    with db.session() as s:
        counts = s.execute(
            select(Household.code, func.count(Account.id)).join(Account).group_by(Household.code)
        ).all()
        code = max(counts, key=lambda c: (c[1], c[0]))[0]
        doc = household_performance(s, code, START, END, currency="EUR")
        ids = list(s.scalars(select(Account.id).join(Household).where(Household.code == code)))
        fx = FxTable.load(s, start=START, end=END)
        total = flows = None
        for aid in ids:
            h = account_history(s, aid, START, END, fx)
            dates = list(h.frame.index.date)
            rate = fx.rates([h.base_currency] * len(dates), ["EUR"] * len(dates), dates)
            v, f = h.frame["value"] * rate, h.frame["flow"] * rate
            total = v if total is None else total + v
            flows = f if flows is None else flows + f
        assert total is not None and flows is not None
        expected = time_weighted_return(total, flows[flows != 0])
        per_account = performance_report(s, ids, START, END)["rows"]
    assert len(ids) >= 2 and doc["currency"] == "EUR"
    assert doc["twr"] == pytest.approx(expected, abs=1e-6)
    assert doc["end_value"] == pytest.approx(float(total.iloc[-1]), abs=0.01)
    linked = 1.0
    for p in doc["periods"]:
        linked *= 1 + p["return"]
    assert linked - 1 == pytest.approx(doc["twr"], abs=1e-5)  # the months link to the whole range
    # Each account's own return (base currency) is the one `report performance` shows.
    assert {a["account"]: a["twr"] for a in doc["accounts"]} == pytest.approx(
        {r["account"]: r["twr"] for r in per_account}, abs=1e-6
    )


def test_composite_periods_are_beginning_value_weighted_account_returns(demo: tuple[Database, str]) -> None:
    db, url = demo
    with db.session() as s:
        code = s.execute(
            select(Model.code, func.count(Account.id))
            .join(Account)
            .group_by(Model.code)
            .order_by(func.count(Account.id).desc())
        ).first()[0]  # type: ignore[index]
        doc = composite_report(s, code, START, END, currency="USD", freq="M")
        fx = FxTable.load(s, start=START, end=END)
        accounts = list(
            s.scalars(
                select(Account).where(
                    Account.model_id == select(Model.id).where(Model.code == code).scalar_subquery()
                )
            )
        )
        series = {}
        for a in accounts:
            h = account_history(s, a.id, START, END, fx)
            dates = list(h.frame.index.date)
            rate = fx.rates([h.base_currency] * len(dates), ["USD"] * len(dates), dates)
            series[a.code] = (h.frame["value"] * rate, h.frame["flow"] * rate)
    assert doc["accounts"] == len(accounts) >= 2
    # From June (the range starts on Friday 29 May: no May return day) to the book's last price.
    assert doc["periods"][0]["period"] == "2026-06" and len(doc["periods"]) >= 4
    for p in doc["periods"]:  # each month: beginning-value-weighted account TWRs over the month
        num = den = 0.0
        for v, f in series.values():
            month = v[v.index.to_period("M").astype(str) == p["period"]]
            before = v[v.index < month.index[0]]
            window_v = v.loc[before.index[-1] : month.index[-1]]
            window_f = f.loc[window_v.index]
            r = time_weighted_return(window_v, window_f)  # a flow on the window's first day is inside it
            num += float(before.iloc[-1]) * r
            den += float(before.iloc[-1])
        assert p["return"] == pytest.approx(num / den, abs=1e-6), p["period"]
    d = doc["dispersion"]
    if d["accounts"] >= 6:
        assert d["low"] <= d["high"] and d["asset_weighted_std"] >= 0
    else:
        assert d["asset_weighted_std"] is None and "not meaningful" in d["note"]
    code_json = main(["--db", url, "report", "composite", "--model", code, "--from", START.isoformat(),
                      "--to", END.isoformat(), "--json"])  # fmt: skip
    assert code_json == 0


def test_cli_contracts(demo: tuple[Database, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, url = demo
    with demo[0].session() as s:
        hh = s.scalars(select(Household.code).order_by(Household.code)).first()
        model = s.scalars(select(Model.code).join(Account).order_by(Model.code)).first()
    assert (
        main(
            [
                "--db",
                url,
                "report",
                "household-performance",
                "--household",
                str(hh),
                "--to",
                END.isoformat(),
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"report", "household", "currency", "from", "to", "start_value", "end_value", "net_flows",
                        "twr", "period", "periods", "accounts"}  # fmt: skip
    assert (
        main(
            [
                "--db",
                url,
                "report",
                "composite",
                "--model",
                str(model),
                "--currency",
                "jpy",
                "--period",
                "Q",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["currency"] == "JPY" and doc["period"] == "quarter"
    assert set(doc["dispersion"]) == {
        "accounts",
        "asset_weighted_std",
        "equal_weighted_std",
        "high",
        "low",
        "note",
    }
    assert all(float(p["assets"]).is_integer() for p in doc["periods"])  # whole yen
    assert main(["--db", url, "report", "composite", "--model", "NOPE"]) == 2
    assert "no model 'NOPE'" in capsys.readouterr().err
    assert main(["--db", url, "report", "composite", "--model", str(model), "--currency", "XYZ1"]) == 2
