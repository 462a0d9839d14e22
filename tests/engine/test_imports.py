"""CSV imports: a good file of every kind reads back exactly, re-imports change nothing, upserts update.

Shared helpers (book files, table snapshots) live here; error cases are in test_imports_errors.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, func, select

from engine.errors import ImportValidationError
from engine.events import BookChanged, EventBus
from engine.imports import service
from engine.imports.service import ImportFailed, ImportResult, import_file
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from workstation.cli.main import main

SECURITIES = """\
symbol,name,asset_class,currency,mic,country,sector,industry,issuer,isin,cusip,sedol,local_ticker,lot_size,price_multiplier,esg_score,esg_flags,adr_ordinary,adr_ratio,adr_sponsored,allowed_client_types,allowed_domiciles,coupon,maturity
AAPL,Apple Inc.,equity,USD,XNAS,US,Information Technology,Technology Hardware,Apple Inc.,US0378331005,037833100,2046251,AAPL,1,1,71.5,,,,,,,,
VOD.L,Vodafone Group,equity,GBP,XLON,GB,Communication Services,,,GB00BH4HKS39,,BH4HKS3,VOD,1,0.01,55.25,,,,,,,,
VOD,Vodafone ADR,adr,USD,XNAS,US,Communication Services,,,,92857W308,,VOD,1,1,,,VOD.L,10,true,professional;institutional,onshore,,
UST30,US Treasury 4.25% 2030,fixed_income,USD,XOFF,US,Fixed Income,,US Treasury,,,,,1000,0.01,,,,,,,,4.25,2030-05-15
SAP.DE,SAP SE,equity,EUR,XETR,DE,Information Technology,,,DE0007164600,,,SAP,1,1,60,weapons;nuclear,,,,,,,
"""

ACCOUNTS = """\
account,name,household,household_name,base_currency,custodian,tax_status,tax_jurisdiction,model,client_type,domicile,kyc_status,kyc_review_date,risk_rating,cash_target,cash_floor,drift_band,lot_relief,keep_legacy,excluded_securities,excluded_sectors,esg_exclusions,min_esg_score
A1,Smith taxable,H1,Smith family,USD,Schwab,taxable,US,CORE,retail,onshore,approved,2027-03-31,medium,2,1,3.5,hifo,yes,VOD;SAP.DE,Energy,tobacco;weapons,40
A2,Smith pension,H1,,GBP,Schwab,tax_deferred,GB,,professional,offshore,pending,,low,0.5,0,5,fifo,,,,,
"""

MODELS = """\
model,model_name,symbol,sub_model,weight
CORE,Core equity,AAPL,,60.5
CORE,Core equity,VOD.L,,39.5
BAL,Balanced,,CORE,40
BAL,Balanced,UST30,,60
"""

FX = """\
base,quote,date,rate
EUR,USD,2024-01-02,1.0956
EUR,GBP,2024-01-02,0.86510
GBP,USD,2024-01-03,1.2634
"""

LOTS = """\
account,lot_id,symbol,quantity,unit_cost,acquired,fx_rate
A1,L1,AAPL,10.5,185.64,2024-01-02,
A1,L2,VOD.L,1000,0.6912,2024-01-02,1.27
A1,L3,SAP.DE,3,137.22,2024-01-02,
A2,L1,AAPL,5,185.64,2024-01-03,
"""

CASH = """\
account,currency,settled,unsettled
A1,USD,1000.5,-200.25
A2,GBP,-12.3456,
"""

PRICES = """\
symbol,date,close,volume,currency
AAPL,2024-01-02,185.64,82488700,USD
VOD.L,2024-01-02,0.6912,,GBP
UST30,2024-01-02,99.875,,
"""

BOOK = {"securities": SECURITIES, "accounts": ACCOUNTS, "models": MODELS, "fx": FX}
"""What the `book` fixture loads; accounts name model CORE, so models come before accounts."""
ORDER = ("securities", "models", "accounts", "fx")


def write_csv(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def load(database: Database, folder: Path, kind: str, text: str, name: str | None = None) -> ImportResult:
    return import_file(database, kind, write_csv(folder, name or f"{kind}.csv", text))


def live_tables(database: Database) -> list[Table]:
    """Every table that exists in the database (reflected, so tables of any area are included)."""
    live = MetaData()
    live.reflect(bind=database.engine)
    return list(live.sorted_tables)


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing changed."""
    with database.session() as session:
        return {
            t.name: sorted((tuple(r) for r in session.execute(select(t))), key=repr)
            for t in live_tables(database)
        }


def row_counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in live_tables(database)
        }


def one(database: Database, entity: type, **where: Any) -> Any:
    with database.session() as session:
        return session.scalars(select(entity).filter_by(**where)).one_or_none()


def security_id(database: Database, symbol: str) -> int:
    return one(database, Security, symbol=symbol).id


def account_id(database: Database, code: str) -> int:
    return one(database, Account, code=code).id


def load_book(database: Database, folder: Path) -> Database:
    """Import the securities, models, accounts and FX files above."""
    for kind in ORDER:
        load(database, folder, kind, BOOK[kind])
    return database


@pytest.fixture
def book(database: Database, tmp_path: Path) -> Database:
    """The database with the book's securities, models, accounts and FX rates imported."""
    return load_book(database, tmp_path)


# --- a good import of every kind, read back exactly -----------------------------------------


def test_securities_read_back_exactly(database: Database, tmp_path: Path) -> None:
    result = load(database, tmp_path, "securities", SECURITIES)
    assert result == ImportResult("securities", 5, 5, 0, 0)
    aapl = one(database, Security, symbol="AAPL")
    assert (aapl.name, aapl.asset_class, aapl.currency, aapl.mic, aapl.country) == (
        "Apple Inc.",
        "equity",
        "USD",
        "XNAS",
        "US",
    )
    assert (aapl.sector, aapl.industry, aapl.issuer) == (
        "Information Technology",
        "Technology Hardware",
        "Apple Inc.",
    )
    assert (aapl.isin, aapl.cusip, aapl.sedol, aapl.local_ticker) == (
        "US0378331005",
        "037833100",
        "2046251",
        "AAPL",
    )
    assert aapl.lot_size == 1 and aapl.price_multiplier == Decimal(1) and aapl.esg_score == Decimal("71.5")
    assert aapl.esg_flags == [] and aapl.adr_ordinary_id is None and aapl.coupon is None
    vod_l = one(database, Security, symbol="VOD.L")
    assert vod_l.issuer == "Vodafone Group"  # no issuer given: the name
    assert vod_l.price_multiplier == Decimal("0.01") and vod_l.esg_score == Decimal("55.25")
    adr = one(database, Security, symbol="VOD")
    assert adr.adr_ordinary_id == vod_l.id and adr.adr_ratio == Decimal(10) and adr.adr_sponsored is True
    assert adr.restricted_client_types == ["professional", "institutional"]
    assert adr.restricted_domiciles == ["onshore"]
    bond = one(database, Security, symbol="UST30")
    assert bond.coupon == Decimal("0.0425") and bond.maturity == date(2030, 5, 15) and bond.lot_size == 1000
    assert one(database, Security, symbol="SAP.DE").esg_flags == ["weapons", "nuclear"]


def test_models_read_back_as_fractions(database: Database, tmp_path: Path) -> None:
    load(database, tmp_path, "securities", SECURITIES)
    assert load(database, tmp_path, "models", MODELS) == ImportResult("models", 4, 4, 0, 0)
    with database.session() as session:
        core = session.scalars(select(Model).filter_by(code="CORE")).one()
        bal = session.scalars(select(Model).filter_by(code="BAL")).one()
        assert core.name == "Core equity" and bal.name == "Balanced"
        weights = {(c.security_id, c.sub_model_id): c.weight for c in core.components}
        assert weights == {
            (security_id(database, "AAPL"), None): Decimal("0.605"),
            (security_id(database, "VOD.L"), None): Decimal("0.395"),
        }
        bal_weights = {(c.security_id, c.sub_model_id): c.weight for c in bal.components}
        assert bal_weights == {
            (None, core.id): Decimal("0.4"),
            (security_id(database, "UST30"), None): Decimal("0.6"),
        }


def test_accounts_read_back_with_household_and_exclusions(database: Database, tmp_path: Path) -> None:
    load(database, tmp_path, "securities", SECURITIES)
    load(database, tmp_path, "models", MODELS)
    assert load(database, tmp_path, "accounts", ACCOUNTS) == ImportResult("accounts", 2, 2, 0, 0)
    household = one(database, Household, code="H1")
    assert household.name == "Smith family"
    with database.session() as session:
        a1 = session.scalars(select(Account).filter_by(code="A1")).one()
        assert (a1.name, a1.household_id, a1.base_currency, a1.custodian) == (
            "Smith taxable",
            household.id,
            "USD",
            "Schwab",
        )
        assert (a1.tax_status, a1.tax_jurisdiction, a1.client_type, a1.domicile) == (
            "taxable",
            "US",
            "retail",
            "onshore",
        )
        assert (a1.kyc_status, a1.kyc_review_date, a1.risk_rating, a1.lot_relief) == (
            "approved",
            date(2027, 3, 31),
            "medium",
            "hifo",
        )
        assert a1.model_id == one(database, Model, code="CORE").id
        assert (a1.cash_target, a1.cash_floor, a1.drift_band) == (
            Decimal("0.02"),
            Decimal("0.01"),
            Decimal("0.035"),
        )
        assert a1.keep_legacy is True and a1.min_esg_score == Decimal(40)
        assert a1.excluded_sectors == ["Energy"] and a1.esg_exclusions == ["tobacco", "weapons"]
        assert {e.security_id for e in a1.exclusions} == {
            security_id(database, "VOD"),
            security_id(database, "SAP.DE"),
        }
        a2 = session.scalars(select(Account).filter_by(code="A2")).one()
        assert a2.model_id is None and a2.kyc_review_date is None and a2.keep_legacy is False
        assert (a2.cash_target, a2.cash_floor, a2.drift_band) == (
            Decimal("0.005"),
            Decimal(0),
            Decimal("0.05"),
        )
        assert a2.exclusions == [] and a2.excluded_sectors == [] and a2.min_esg_score is None


def test_fx_read_back_exactly(database: Database, tmp_path: Path) -> None:
    assert load(database, tmp_path, "fx", FX) == ImportResult("fx", 3, 3, 0, 0)
    rate = one(database, FxRate, base="EUR", quote="GBP", date=date(2024, 1, 2))
    assert rate.rate == Decimal("0.8651") and rate.source == "import"


def test_lots_read_back_with_fx_from_file_or_table(book: Database, tmp_path: Path) -> None:
    assert load(book, tmp_path, "lots", LOTS) == ImportResult("lots", 4, 4, 0, 0)
    a1, a2 = account_id(book, "A1"), account_id(book, "A2")
    l1 = one(book, TaxLot, account_id=a1, lot_ref="L1")
    assert (l1.security_id, l1.quantity, l1.unit_cost, l1.acquired, l1.fx_rate) == (
        security_id(book, "AAPL"),
        Decimal("10.5"),
        Decimal("185.64"),
        date(2024, 1, 2),
        Decimal(1),  # USD lot in a USD account
    )
    assert one(book, TaxLot, account_id=a1, lot_ref="L2").fx_rate == Decimal("1.27")  # given in the file
    assert one(book, TaxLot, account_id=a1, lot_ref="L3").fx_rate == Decimal("1.0956")  # EUR->USD direct
    # USD->GBP on 2024-01-03: the inverse of GBP/USD 1.2634.
    assert one(book, TaxLot, account_id=a2, lot_ref="L1").fx_rate == (
        Decimal(1) / Decimal("1.2634")
    ).quantize(Decimal("1e-10"))


def test_lot_fx_crossed_through_eur(book: Database, tmp_path: Path) -> None:
    text = "account,lot_id,symbol,quantity,unit_cost,acquired\nA2,X1,AAPL,1,100,2024-01-02\n"
    load(book, tmp_path, "lots", text)
    expected = (Decimal("0.8651") / Decimal("1.0956")).quantize(Decimal("1e-10"))  # USD->EUR->GBP
    assert one(book, TaxLot, account_id=account_id(book, "A2"), lot_ref="X1").fx_rate == expected


def test_cash_read_back_exactly(book: Database, tmp_path: Path) -> None:
    assert load(book, tmp_path, "cash", CASH) == ImportResult("cash", 2, 2, 0, 0)
    usd = one(book, CashBalance, account_id=account_id(book, "A1"), currency="USD")
    assert (usd.settled, usd.unsettled) == (Decimal("1000.5"), Decimal("-200.25"))
    gbp = one(book, CashBalance, account_id=account_id(book, "A2"), currency="GBP")
    assert (gbp.settled, gbp.unsettled) == (Decimal("-12.3456"), Decimal(0))


def test_prices_read_back_exactly(book: Database, tmp_path: Path) -> None:
    assert load(book, tmp_path, "prices", PRICES) == ImportResult("prices", 3, 3, 0, 0)
    bar = one(book, PriceBar, security_id=security_id(book, "AAPL"), date=date(2024, 1, 2))
    assert (bar.close, bar.volume, bar.source) == (Decimal("185.64"), 82488700, "import")
    assert one(
        book, PriceBar, security_id=security_id(book, "UST30"), date=date(2024, 1, 2)
    ).close == Decimal("99.875")


# --- re-import changes nothing --------------------------------------------------------------

FILES = {**BOOK, "lots": LOTS, "cash": CASH, "prices": PRICES}


@pytest.mark.parametrize("kind", ["securities", "models", "accounts", "fx", "lots", "cash", "prices"])
def test_reimport_is_all_unchanged(book: Database, tmp_path: Path, kind: str) -> None:
    load(book, tmp_path, kind, FILES[kind])
    before = snapshot(book)
    result = load(book, tmp_path, kind, FILES[kind])
    assert (result.inserted, result.updated, result.removed) == (0, 0, 0)
    assert result.unchanged == result.rows > 0
    assert snapshot(book) == before


# --- updates through upsert ------------------------------------------------------------------


def test_security_update_changes_only_that_row(book: Database, tmp_path: Path) -> None:
    changed = SECURITIES.replace("Apple Inc.,equity", "Apple Inc (renamed),equity").replace(",71.5,", ",72,")
    result = load(book, tmp_path, "securities", changed)
    assert result == ImportResult("securities", 5, 0, 1, 4)
    aapl = one(book, Security, symbol="AAPL")
    assert aapl.name == "Apple Inc (renamed)" and aapl.esg_score == Decimal(72)


def test_absent_column_keeps_field_and_empty_cell_clears_it(book: Database, tmp_path: Path) -> None:
    header = "symbol,name,asset_class,currency,mic,country,sector"
    load(
        book, tmp_path, "securities", f"{header}\nAAPL,Apple Inc.,equity,USD,XNAS,US,Information Technology\n"
    )
    assert one(book, Security, symbol="AAPL").isin == "US0378331005"  # no isin column: kept
    result = load(
        book,
        tmp_path,
        "securities",
        f"{header},isin\nAAPL,Apple Inc.,equity,USD,XNAS,US,Information Technology,\n",
    )
    assert result.updated == 1 and one(book, Security, symbol="AAPL").isin is None


def test_identifier_can_move_between_securities_in_one_file(book: Database, tmp_path: Path) -> None:
    header = "symbol,name,asset_class,currency,mic,country,sector,isin"
    text = (
        f"{header}\n"
        "NEWCO,New Co,equity,USD,XNAS,US,Information Technology,US0378331005\n"
        "AAPL,Apple Inc.,equity,USD,XNAS,US,Information Technology,\n"
    )
    assert load(book, tmp_path, "securities", text) == ImportResult("securities", 2, 1, 1, 0)
    assert one(book, Security, symbol="NEWCO").isin == "US0378331005"
    assert one(book, Security, symbol="AAPL").isin is None


def test_account_update_replaces_exclusions_and_renames_household(book: Database, tmp_path: Path) -> None:
    changed = ACCOUNTS.replace("Smith family", "Smith-Jones family").replace("VOD;SAP.DE", "AAPL")
    assert load(book, tmp_path, "accounts", changed) == ImportResult("accounts", 2, 0, 2, 0)
    assert one(book, Household, code="H1").name == "Smith-Jones family"
    with book.session() as session:
        a1 = session.scalars(select(Account).filter_by(code="A1")).one()
        assert [e.security_id for e in a1.exclusions] == [security_id(book, "AAPL")]


def test_models_import_replaces_components(book: Database, tmp_path: Path) -> None:
    text = "model,symbol,weight\nCORE,AAPL,50\nCORE,SAP.DE,50\n"
    result = load(book, tmp_path, "models", text)
    assert result == ImportResult("models", 2, 1, 1, 0, removed=1)
    with book.session() as session:
        core = session.scalars(select(Model).filter_by(code="CORE")).one()
        assert core.name == "Core equity"  # no model_name column: kept
        assert {c.security_id: c.weight for c in core.components} == {
            security_id(book, "AAPL"): Decimal("0.5"),
            security_id(book, "SAP.DE"): Decimal("0.5"),
        }
    assert result.summary("models.csv") == "models.csv: 2 rows, 1 inserted, 1 updated, 0 unchanged, 1 removed"


@pytest.mark.parametrize(
    ("kind", "old", "new", "check"),
    [
        (
            "lots",
            "A1,L1,AAPL,10.5,",
            "A1,L1,AAPL,12,",
            lambda db: one(db, TaxLot, lot_ref="L1", account_id=account_id(db, "A1")).quantity == 12,
        ),
        (
            "cash",
            "A1,USD,1000.5,",
            "A1,USD,999,",
            lambda db: one(db, CashBalance, currency="USD").settled == 999,
        ),
        (
            "prices",
            "AAPL,2024-01-02,185.64,",
            "AAPL,2024-01-02,186,",
            lambda db: one(db, PriceBar, security_id=security_id(db, "AAPL")).close == 186,
        ),
        (
            "fx",
            "EUR,USD,2024-01-02,1.0956",
            "EUR,USD,2024-01-02,1.1",
            lambda db: one(db, FxRate, base="EUR", quote="USD").rate == Decimal("1.1"),
        ),
    ],
)
def test_upsert_updates_one_row(
    book: Database, tmp_path: Path, kind: str, old: str, new: str, check: Callable[[Database], bool]
) -> None:
    load(book, tmp_path, kind, FILES[kind])
    result = load(book, tmp_path, kind, FILES[kind].replace(old, new))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, result.rows - 1)
    assert check(book)


# --- service behaviour ---------------------------------------------------------------------------


def test_database_error_during_write_rolls_back(
    book: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after some rows were written leaves nothing behind."""
    kind = service.KINDS["cash"]

    def failing_write(session: Any, plan: Any) -> Any:
        kind_write(session, plan)
        session.flush()
        session.add(CashBalance(account_id=10**6, currency="USD", settled=Decimal(1)))  # no such account
        session.flush()

    kind_write = kind.write
    monkeypatch.setitem(
        service.KINDS, "cash", type(kind)(kind.name, kind.required, kind.optional, kind.check, failing_write)
    )
    before = snapshot(book)
    with pytest.raises(ImportFailed, match="nothing was written"):
        load(book, tmp_path, "cash", CASH)
    assert snapshot(book) == before


def test_publishes_book_changed_only_when_something_changed(book: Database, tmp_path: Path) -> None:
    bus = EventBus()
    seen: list[BookChanged] = []
    bus.subscribe(BookChanged, seen.append)
    path = write_csv(tmp_path, "cash.csv", CASH)
    import_file(book, "cash", path, bus=bus)
    import_file(book, "cash", path, bus=bus)
    assert [(e.kind, e.rows) for e in seen] == [("cash", 2)]


def test_blank_rows_are_skipped_but_keep_row_numbers(book: Database, tmp_path: Path) -> None:
    text = "account,currency,settled\nA1,USD,1\n\n,,\nA1,XXX,2\n"
    with pytest.raises(ImportValidationError) as info:
        load(book, tmp_path, "cash", text)
    assert [(p.row, p.column) for p in info.value.problems] == [(5, "currency")]


# --- the command line ------------------------------------------------------------------------


def test_cli_import_prints_summary_and_json(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, "fx.csv", FX)
    if db_url.startswith("postgresql"):
        assert main(["--db", db_url, "db", "upgrade"]) == 0
        capsys.readouterr()
    assert main(["--db", db_url, "import", "fx", str(path)]) == 0
    assert capsys.readouterr().out == "fx.csv: 3 rows, 3 inserted, 0 updated, 0 unchanged\n"
    assert main(["--db", db_url, "import", "fx", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "kind": "fx",
        "rows": 3,
        "inserted": 0,
        "updated": 0,
        "unchanged": 3,
        "removed": 0,
    }


def test_cli_reports_every_problem_and_exits_2(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if db_url.startswith("postgresql"):
        assert main(["--db", db_url, "db", "upgrade"]) == 0
    path = write_csv(
        tmp_path, "fx.csv", "base,quote,date,rate\nEUR,USD,2024-01-02,1.1\nEUR,usd,2024-13-01,-1\n"
    )
    capsys.readouterr()
    assert main(["--db", db_url, "import", "fx", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "fx.csv: row 3, column date: date '2024-13-01' is not a valid date",
        "fx.csv: row 3, column quote: quote 'usd' is not an ISO 4217 currency code",
        "fx.csv: row 3, column rate: rate '-1' is negative; it must be greater than zero",
        "fx.csv: 3 problem(s); nothing was written",
    ]
    assert main(["--db", db_url, "db", "info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"]["fx_rates"] == 0


def test_cli_missing_file_is_an_error(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", sqlite_url, "import", "prices", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
