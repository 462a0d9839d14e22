"""The simulated demo book: deterministic for a seed, and its figures are sane."""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pandas as pd
import pytest
from currency_converter import CurrencyConverter
from sqlalchemy import func, select

import resources
from engine.demo.build import BookNotEmpty, build_demo_book
from engine.demo.clients import build_clients
from engine.demo.holdings import build_holdings, market_arrays
from engine.demo.market import demo_window, ecb_history, last_ecb_date, simulate_prices
from engine.demo.models import build_models, flatten
from engine.demo.universe import build_universe
from engine.model.identifiers import is_valid_cusip, is_valid_isin, is_valid_sedol
from engine.store.accounts import Account, Model, ModelComponent
from engine.store.market import PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Exchange, Security

TODAY = date(2026, 11, 22)


def _generate(seed: int, n: int = 25) -> pd.DataFrame:
    universe = build_universe()
    as_of = last_ecb_date(TODAY)
    start, end = demo_window(as_of)
    ecb = ecb_history(sorted(set(universe["currency"])), start - pd.Timedelta(days=10), end)
    cals = dict(pd.read_csv(resources.path("reference", "exchanges.csv"))[["mic", "calendar"]].to_numpy())
    closes, _ = simulate_prices(universe, cals, ecb, start, end, seed)
    rng = np.random.default_rng(seed)
    _, accounts = build_clients(n, as_of, rng)
    pool = np.flatnonzero((universe["asset_class"] == "equity").to_numpy())
    lots, _, _ = build_holdings(
        accounts, flatten(build_models(universe)), market_arrays(universe, closes, ecb), rng, pool
    )
    return lots


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def test_generation_is_deterministic_for_a_seed() -> None:
    a, b, c = _generate(7), _generate(7), _generate(8)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_universe_is_global_and_identifiers_are_valid() -> None:
    u = build_universe()
    assert 380 <= len(u) <= 420
    assert u["symbol"].is_unique
    equities = u[u["asset_class"] == "equity"]
    assert equities["mic"].nunique() >= 8 and u["currency"].nunique() >= 7
    assert {"etf", "adr", "fixed_income"} <= set(u["asset_class"])
    assert all(is_valid_isin(x) for x in u["isin"])
    assert all(is_valid_cusip(x) for x in u["cusip"].dropna())
    assert all(is_valid_sedol(x) for x in u["sedol"].dropna())
    adrs = u[u["asset_class"] == "adr"]
    ordinaries = u.set_index("symbol").loc[adrs["ordinary"]]
    assert (ordinaries["asset_class"] == "equity").all()
    assert (ordinaries["issuer"].to_numpy() == adrs["issuer"].to_numpy()).all()


def test_model_weights_sum_to_one_and_sleeves_resolve() -> None:
    models = build_models(build_universe())
    assert len(models) >= 6
    for m in models:
        assert sum(w for *_, w in m.components) == pytest.approx(1.0, abs=1e-9)
    for code, weights in flatten(models).items():
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-9), code


@pytest.fixture(scope="module")
def built_book(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from engine.store.database import Database
    from engine.store.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    database = Database(url)
    upgrade(database)
    build = build_demo_book(database, resources.path("reference"), accounts=40, seed=3, today=TODAY)
    yield database, build
    database.dispose()


def test_stored_book_is_sane(built_book) -> None:  # type: ignore[no-untyped-def]
    database, build = built_book
    assert build.as_of == date(2026, 10, 30)  # last ECB fixing shipped on or before the day
    with database.session() as s:
        assert s.execute(select(func.count()).select_from(Account)).scalar_one() == 40
        assert (
            s.execute(
                select(func.count()).select_from(Account).where(Account.model_id.is_(None))
            ).scalar_one()
            == 0
        )
        # Every model's components sum to exactly 1.
        sums = s.execute(
            select(ModelComponent.model_id, func.sum(ModelComponent.weight)).group_by(ModelComponent.model_id)
        ).all()
        assert len(sums) == s.execute(select(func.count()).select_from(Model)).scalar_one()
        assert all(abs(float(total) - 1.0) < 1e-9 for _, total in sums)
        lots = pd.DataFrame(
            s.execute(
                select(
                    TaxLot.quantity,
                    TaxLot.unit_cost,
                    TaxLot.acquired,
                    TaxLot.fx_rate,
                    Security.symbol,
                    Security.currency,
                    Security.lot_size,
                    Security.id,
                    Account.base_currency,
                )
                .join(Security, Security.id == TaxLot.security_id, isouter=True)
                .join(Account, Account.id == TaxLot.account_id)
            ).all()
        )
        assert lots["symbol"].notna().all()  # every lot's security exists
        assert (lots["quantity"] > 0).all()
        assert all(q % ls == 0 for q, ls in zip(lots["quantity"], lots["lot_size"]))  # whole board lots
        # Each lot was bought on a real session of its exchange, near that day's close.
        sample = lots.sample(200, random_state=1)
        for row in sample.itertuples():
            bar = s.get(PriceBar, (row.id, row.acquired))
            assert bar is not None, f"{row.symbol} has no session on {row.acquired}"
            assert abs(float(row.unit_cost) / float(bar.close) - 1) < 0.02
        # Exchanges and currencies really are global.
        mics = s.execute(select(func.count(func.distinct(Security.mic)))).scalar_one()
        assert mics >= 8 and s.execute(select(func.count()).select_from(Exchange)).scalar_one() >= 8
        assert s.execute(select(func.count(func.distinct(Account.base_currency)))).scalar_one() >= 4
        assert s.execute(select(func.count()).select_from(CashBalance)).scalar_one() >= 40


def test_lot_fx_rates_match_the_ecb_reference(built_book) -> None:  # type: ignore[no-untyped-def]
    """Independent check: the currencyconverter package's own conversion, on the last ECB fixing
    on or before the purchase day (our convention: no look-ahead on exchange holidays of the ECB)."""
    from datetime import timedelta

    from currency_converter import RateNotFoundError

    database, _ = built_book
    cc = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)

    def ecb(ccy: str, base: str, day: date) -> float:
        for back in range(8):
            try:
                return cc.convert(1, ccy, base, date=day - timedelta(days=back))
            except RateNotFoundError:
                continue
        raise AssertionError(f"no ECB fixing within a week before {day}")

    with database.session() as s:
        rows = s.execute(
            select(TaxLot.acquired, TaxLot.fx_rate, Security.currency, Account.base_currency)
            .join(Security, Security.id == TaxLot.security_id)
            .join(Account, Account.id == TaxLot.account_id)
            .where(Security.currency != Account.base_currency)
            .limit(300)
        ).all()
    assert rows
    for acquired, fx_rate, ccy, base in rows:
        expected = ecb(ccy, base, acquired)
        assert float(fx_rate) == pytest.approx(expected, rel=2e-3), (acquired, ccy, base)


def test_book_has_gains_and_losses(built_book) -> None:  # type: ignore[no-untyped-def]
    from engine.book.summary import book_summary

    database, _ = built_book
    summary = book_summary(database)
    assert summary["unrealized"]["lots_with_gain"] > 0 and summary["unrealized"]["lots_with_loss"] > 0
    assert summary["firm_aum_usd"] > 0
    assert sum(m["accounts"] for m in summary["models"]) == 40
    assert "simulated" in summary["sources"]["price_source"]


def test_demo_refuses_to_overwrite_a_real_book(database) -> None:  # type: ignore[no-untyped-def]
    from engine.store.accounts import Household

    with database.transaction() as s:
        hh = Household(code="H", name="Real client")
        s.add(hh)
        s.flush()
        s.add(
            Account(
                code="REAL1",
                name="Real",
                household_id=hh.id,
                base_currency="USD",
                custodian="X",
                tax_status="taxable",
                tax_jurisdiction="US",
                client_type="retail",
                domicile="onshore",
                kyc_status="approved",
                risk_rating="low",
                cash_target=0,
                cash_floor=0,
                drift_band=0.03,
                lot_relief="fifo",
            )
        )
    with pytest.raises(BookNotEmpty):
        build_demo_book(database, resources.path("reference"), accounts=5, seed=1, today=TODAY)
    with database.session() as s:
        assert s.scalars(select(Account.code)).all() == ["REAL1"]


@pytest.mark.postgres
def test_demo_builds_on_postgresql(pg_schema_url: str) -> None:
    from engine.store.database import Database
    from engine.store.migrate import upgrade

    database = Database(pg_schema_url)
    upgrade(database)
    build_demo_book(database, resources.path("reference"), accounts=6, seed=5, today=TODAY)
    with database.session() as s:
        assert s.execute(select(func.count()).select_from(Account)).scalar_one() == 6
        assert s.execute(select(func.count()).select_from(TaxLot)).scalar_one() > 300
    database.dispose()
