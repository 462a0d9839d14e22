"""A tiny hand-made book for accounting tests: two households, US and EUR accounts, real-looking FX."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert

from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.market import FxRate
from engine.store.reference import Security

# EUR/USD and EUR/CAD fixings: constant per year so tests can compute by hand.
EURUSD = {2024: Decimal("1.10"), 2025: Decimal("1.05"), 2026: Decimal("1.15")}
EURCAD = {2024: Decimal("1.50"), 2025: Decimal("1.45"), 2026: Decimal("1.60")}


def account_row(code: str, household_id: int, **kw: object) -> Account:
    values: dict[str, object] = dict(
        code=code,
        name=code,
        household_id=household_id,
        base_currency="USD",
        custodian="TEST",
        tax_status="taxable",
        tax_jurisdiction="US",
        client_type="retail",
        domicile="onshore",
        kyc_status="approved",
        risk_rating="medium",
        cash_target=Decimal("0.02"),
        cash_floor=Decimal("0.01"),
        drift_band=Decimal("0.05"),
        lot_relief="fifo",
    )
    values.update(kw)
    return Account(**values)


def security_row(symbol: str, currency: str, mic: str, country: str, **kw: object) -> Security:
    values: dict[str, object] = dict(
        symbol=symbol,
        name=symbol,
        asset_class="equity",
        currency=currency,
        mic=mic,
        country=country,
        sector="Information Technology",
        issuer=symbol,
    )
    values.update(kw)
    return Security(**values)


def build_small_book(database: Database) -> None:
    """Households H1 (US taxable A1, US IRA A2) and H2 (EUR-based E1); five securities."""
    with database.transaction() as s:
        h1, h2 = Household(code="H1", name="One"), Household(code="H2", name="Two")
        s.add_all([h1, h2])
        s.flush()
        s.add_all(
            [
                account_row("A1", h1.id),
                account_row("A2", h1.id, tax_status="tax_deferred"),
                account_row("A3", h1.id, lot_relief="hifo"),
                account_row("E1", h2.id, base_currency="EUR", tax_jurisdiction="DE"),
            ]
        )
        ordinary = security_row("SAP.DE", "EUR", "XETR", "DE", isin="DE0007164600")
        s.add_all(
            [
                security_row("XYZ", "USD", "XNYS", "US", isin="US0000000001"),
                security_row("ABC", "USD", "XNAS", "US"),
                security_row("RY.TO", "CAD", "XTSE", "CA"),
                ordinary,
            ]
        )
        s.flush()
        s.add(
            security_row(
                "SAP",
                "USD",
                "XNYS",
                "DE",
                asset_class="adr",
                adr_ordinary_id=ordinary.id,
                adr_ratio=Decimal(1),
            )
        )
        rows = []
        day = date(2023, 12, 20)
        while day <= date(2026, 12, 31):
            if day.weekday() < 5:
                y = max(day.year, 2024)
                rows.append(dict(base="EUR", quote="USD", date=day, rate=EURUSD[y], source="test"))
                rows.append(dict(base="EUR", quote="CAD", date=day, rate=EURCAD[y], source="test"))
            day += timedelta(days=1)
        s.execute(insert(FxRate), rows)
