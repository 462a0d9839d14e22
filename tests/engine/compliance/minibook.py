"""A tiny hand-made book whose every number can be checked by hand (shared by compliance tests).

As of 2026-10-30. FX: 1 EUR = 1.10 USD = 0.85 GBP = 8.5 HKD.
U1 (USD, US taxable, household H1, retail): AAA 100 @ 100 = 10,000; AAB 60 @ 100 = 6,000
   (lots: 50 bought 2025-01-02 at 120, 10 bought 2026-10-20 at 100); cash 4,000 USD. Total 20,000 USD.
   Excludes fossil_fuels, minimum ESG score 40, cash floor 2%.
U2 (USD, US tax-deferred, household H1, retail): cash 10,000 USD.
G1 (GBP, GB taxable, household H2, professional, KYC expired): CCC 500 @ 10 GBP = 5,000; cash 1,000 GBP.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from engine.compliance.rules import Rule
from engine.compliance.tables import DeskAccount
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.meta import BookMeta
from engine.store.people import User
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security

AS_OF = date(2026, 10, 30)
GBPUSD = 1.10 / 0.85
USERS = (
    ("pm1", "portfolio_manager"),
    ("pm2", "portfolio_manager"),
    ("tr1", "trader"),
    ("co1", "compliance"),
    ("co2", "compliance"),
    ("co3", "compliance"),
    ("ad1", "admin"),
)

SECURITIES = (
    # symbol, ccy, mic, country, sector, issuer, esg, flags, price, volume, client types
    ("AAA", "USD", "XNYS", "US", "Information Technology", "Alpha Inc", 70, [], 100, 10_000, []),
    ("AAB", "USD", "XNYS", "US", "Information Technology", "Alpha Inc", 65, [], 100, 10_000, []),
    ("BBB", "USD", "XNYS", "US", "Energy", "Beta Oil", 30, ["fossil_fuels"], 50, 1_000, []),
    ("CCC", "GBP", "XLON", "GB", "Financials", "Gamma plc", 60, [], 10, 100_000, []),
    ("HKX", "HKD", "XHKG", "HK", "Industrials", "Hong Co", 55, [], 20, 50_000, []),
    (
        "PRO",
        "USD",
        "XNYS",
        "US",
        "Fixed Income",
        "Pro Notes",
        50,
        [],
        100,
        5_000,
        ["professional", "institutional"],
    ),
)


def build_minibook(database: Database) -> None:
    """Write the tiny book into a migrated database."""
    with database.transaction() as s:
        for username, role in USERS:
            s.add(User(username=username, display_name=username.upper(), role=role))
        sec = {}
        for sym, ccy, mic, country, sector, issuer, esg, flags, price, vol, ctypes in SECURITIES:
            obj = Security(
                symbol=sym, name=f"{sym} test", asset_class="equity", currency=ccy, mic=mic, country=country,
                sector=sector, issuer=issuer, esg_score=Decimal(esg), esg_flags=flags,
                restricted_client_types=ctypes, restricted_domiciles=[], lot_size=1, price_multiplier=Decimal(1),
            )  # fmt: skip
            s.add(obj)
            s.flush()
            sec[sym] = obj.id
            for k in range(25):
                d = AS_OF - timedelta(days=k)
                s.add(PriceBar(security_id=obj.id, date=d, close=Decimal(price), volume=vol, source="test"))
        for q, r in (("USD", "1.10"), ("GBP", "0.85"), ("HKD", "8.5"), ("CHF", "0.95")):
            for k in range(10):
                s.add(
                    FxRate(
                        base="EUR", quote=q, date=AS_OF - timedelta(days=k), rate=Decimal(r), source="test"
                    )
                )
        m = Model(code="M1", name="Model one")
        s.add(m)
        h1, h2 = Household(code="H1", name="House one"), Household(code="H2", name="House two")
        s.add_all([h1, h2])
        s.flush()
        common = dict(
            custodian="TEST", risk_rating="medium", cash_target=Decimal("0.02"), drift_band=Decimal("0.05"),
            lot_relief="fifo", keep_legacy=False, excluded_sectors=[], domicile="onshore",
        )  # fmt: skip
        u1 = Account(
            code="U1", name="U1", household_id=h1.id, base_currency="USD", tax_status="taxable",
            tax_jurisdiction="US", model_id=m.id, client_type="retail", kyc_status="approved",
            kyc_review_date=date(2027, 6, 30), cash_floor=Decimal("0.02"), esg_exclusions=["fossil_fuels"],
            min_esg_score=Decimal(40), **common,
        )  # fmt: skip
        u2 = Account(
            code="U2", name="U2", household_id=h1.id, base_currency="USD", tax_status="tax_deferred",
            tax_jurisdiction="US", model_id=m.id, client_type="retail", kyc_status="approved",
            kyc_review_date=date(2027, 6, 30), cash_floor=Decimal("0.0"), esg_exclusions=[], **common,
        )  # fmt: skip
        g1 = Account(
            code="G1", name="G1", household_id=h2.id, base_currency="GBP", tax_status="taxable",
            tax_jurisdiction="GB", model_id=None, client_type="professional", kyc_status="expired",
            kyc_review_date=date(2026, 9, 30), cash_floor=Decimal("0.0"), esg_exclusions=[], **common,
        )  # fmt: skip
        s.add_all([u1, u2, g1])
        s.flush()
        lots = (
            (u1.id, "AAA", "L1", 100, 80, date(2024, 3, 1), 1),
            (u1.id, "AAB", "L2", 50, 120, date(2025, 1, 2), 1),
            (u1.id, "AAB", "L3", 10, 100, date(2026, 10, 20), 1),
            (g1.id, "CCC", "L4", 500, 9, date(2023, 5, 5), 1),
        )
        for acct, sym, ref, q, cost, acq, fx in lots:
            s.add(
                TaxLot(account_id=acct, security_id=sec[sym], lot_ref=ref, quantity=Decimal(q),
                       unit_cost=Decimal(cost), acquired=acq, fx_rate=Decimal(fx))
            )  # fmt: skip
        s.add_all(
            [
                CashBalance(account_id=u1.id, currency="USD", settled=Decimal(4000)),
                CashBalance(account_id=u2.id, currency="USD", settled=Decimal(10000)),
                CashBalance(account_id=g1.id, currency="GBP", settled=Decimal(1000)),
            ]
        )
        s.add_all([DeskAccount(account_code="U1", desk="D1"), DeskAccount(account_code="U2", desk="D1")])
        s.add(BookMeta(key="as_of", value=AS_OF.isoformat()))


def rule(template: str, severity: str = "hard", code: str | None = None, **params: object) -> Rule:
    """A firm-wide rule built in memory (no database row), parameters validated."""
    from engine.compliance.templates import get_template

    return Rule(
        code or template.upper(), 1, template, severity, get_template(template).validate(dict(params)), "",
        date(2000, 1, 1), None, (("firm", None),),
    )  # fmt: skip
