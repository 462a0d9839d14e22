"""Simulated households and accounts: base currencies, mandates, restrictions and KYC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from engine.demo.names import SURNAMES

# (base currency, tax jurisdiction, share of households, models offered)
REGIONS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("USD", "US", 0.46, ("USCORE", "GLOBAL", "ESGGLOBAL", "DIVINC", "BAL6040", "GROWTH")),
    ("GBP", "GB", 0.14, ("GLOBAL", "INTLDEV", "ESGGLOBAL", "BAL6040", "GROWTH")),
    ("EUR", "DE", 0.08, ("GLOBAL", "ESGGLOBAL", "INTLDEV", "BAL6040")),
    ("EUR", "FR", 0.06, ("GLOBAL", "ESGGLOBAL", "INTLDEV", "BAL6040")),
    ("CHF", "CH", 0.08, ("GLOBAL", "ESGGLOBAL", "INTLDEV", "GROWTH")),
    ("AUD", "AU", 0.07, ("GLOBAL", "INTLDEV", "DIVINC", "BAL6040")),
    ("CAD", "CA", 0.05, ("GLOBAL", "USCORE", "BAL6040")),
    ("HKD", "HK", 0.03, ("GLOBAL", "INTLDEV", "GROWTH")),
    ("JPY", "JP", 0.03, ("GLOBAL", "INTLDEV", "ESGGLOBAL")),
)
CUSTODIANS: tuple[str, ...] = ("SIM-CUSTODIAN-A", "SIM-CUSTODIAN-B", "SIM-CUSTODIAN-C")
ACCOUNT_KINDS: tuple[tuple[str, str], ...] = (
    ("Individual", "taxable"),
    ("Joint", "taxable"),
    ("Trust", "taxable"),
    ("Retirement", "tax_deferred"),
    ("Tax-Free", "exempt"),
    ("Foundation", "exempt"),
)


@dataclass
class DemoAccount:
    code: str
    name: str
    household: str
    base_currency: str
    tax_jurisdiction: str
    tax_status: str
    model: str
    custodian: str
    client_type: str
    domicile: str
    kyc_status: str
    kyc_review_date: date
    risk_rating: str
    cash_target: float
    cash_floor: float
    drift_band: float
    lot_relief: str
    keep_legacy: bool
    excluded_sectors: list[str] = field(default_factory=list)
    esg_exclusions: list[str] = field(default_factory=list)
    min_esg_score: float | None = None
    value_usd: float = 0.0


@dataclass
class DemoHousehold:
    code: str
    name: str


def build_clients(
    n_accounts: int, as_of: date, rng: np.random.Generator
) -> tuple[list[DemoHousehold], list[DemoAccount]]:
    households: list[DemoHousehold] = []
    accounts: list[DemoAccount] = []
    shares = np.array([r[2] for r in REGIONS])
    shares = shares / shares.sum()
    h = 0
    while len(accounts) < n_accounts:
        h += 1
        region = REGIONS[int(rng.choice(len(REGIONS), p=shares))]
        base, juris, _, offered = region
        surname = str(rng.choice(SURNAMES))
        hh = DemoHousehold(f"H{h:06d}", f"{surname} Household")
        households.append(hh)
        size = int(rng.choice([1, 2, 3, 4], p=[0.45, 0.30, 0.17, 0.08]))
        client_type = str(rng.choice(["retail", "professional", "institutional"], p=[0.8, 0.15, 0.05]))
        domicile = "offshore" if rng.random() < 0.08 else "onshore"
        for _ in range(min(size, n_accounts - len(accounts))):
            kind, tax = ACCOUNT_KINDS[int(rng.choice(len(ACCOUNT_KINDS), p=[0.35, 0.2, 0.1, 0.2, 0.1, 0.05]))]
            if juris != "US" and tax == "exempt":
                tax = "tax_deferred"
            model = str(rng.choice(offered))
            u = rng.random()
            kyc = "approved" if u < 0.92 else ("expired" if u < 0.96 else "pending")
            review = (
                as_of + timedelta(days=int(rng.integers(20, 700)))
                if kyc == "approved"
                else as_of - timedelta(days=int(rng.integers(1, 200)))
            )
            esg: list[str] = []
            if model == "ESGGLOBAL":
                esg = ["fossil_fuels", "tobacco", "weapons"]
            else:
                if rng.random() < 0.15:
                    esg.append("tobacco")
                if rng.random() < 0.10:
                    esg.append("fossil_fuels")
                if rng.random() < 0.05:
                    esg.append("weapons")
            target = float(rng.choice([0.01, 0.015, 0.02, 0.03]))
            acct = DemoAccount(
                code=f"A{len(accounts) + 1:06d}",
                name=f"{surname} {kind}",
                household=hh.code,
                base_currency=base,
                tax_jurisdiction=juris,
                tax_status=tax,
                model=model,
                custodian=str(rng.choice(CUSTODIANS, p=[0.5, 0.3, 0.2])),
                client_type=client_type,
                domicile=domicile,
                kyc_status=kyc,
                kyc_review_date=review,
                risk_rating=str(rng.choice(["low", "medium", "high"], p=[0.3, 0.55, 0.15])),
                cash_target=target,
                cash_floor=round(target / 2, 4),
                drift_band=float(rng.choice([0.02, 0.03, 0.05])),
                lot_relief=str(rng.choice(["fifo", "hifo", "min_tax", "lifo"], p=[0.55, 0.2, 0.2, 0.05])),
                keep_legacy=bool(rng.random() < 0.1),
                excluded_sectors=["Energy"] if rng.random() < 0.04 else [],
                esg_exclusions=esg,
                min_esg_score=40.0 if model == "ESGGLOBAL" else None,
                value_usd=float(np.clip(np.exp(rng.normal(np.log(1.2e6), 0.9)), 1e5, 5e7)),
            )
            accounts.append(acct)
    return households, accounts
