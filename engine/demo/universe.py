"""The simulated demo universe: about 400 fictional securities on 12 venues in 8 currencies.

Fixed (its own seed), so every demo book shares the same symbols. Issuers are invented; ISIN,
CUSIP and SEDOL follow the real formats with valid check digits but identify nothing real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.demo.names import FLAGGED_NOUNS, SECTOR_NOUNS, STEMS, SUFFIX_BY_COUNTRY
from engine.model.identifiers import cusip_check_digit, isin_check_digit, sedol_check_digit

UNIVERSE_SEED = 20261122


@dataclass(frozen=True)
class Venue:
    mic: str
    country: str
    currency: str
    count: int
    suffix: str  # symbol suffix after the local ticker ("" for US)
    ticker: str  # "alpha" or "digits"
    median_price: float
    lot_sizes: tuple[int, ...] = (1,)


EQUITY_VENUES: tuple[Venue, ...] = (
    Venue("XNYS", "US", "USD", 60, "", "alpha", 60.0),
    Venue("XNAS", "US", "USD", 50, "", "alpha", 45.0),
    Venue("XTSE", "CA", "CAD", 25, ".TO", "alpha", 35.0),
    Venue("XLON", "GB", "GBP", 40, ".L", "alpha", 8.0),
    Venue("XETR", "DE", "EUR", 28, ".DE", "alpha", 60.0),
    Venue("XPAR", "FR", "EUR", 24, ".PA", "alpha", 70.0),
    Venue("XAMS", "NL", "EUR", 14, ".AS", "alpha", 40.0),
    Venue("XSWX", "CH", "CHF", 18, ".SW", "alpha", 120.0),
    Venue("XTKS", "JP", "JPY", 40, ".T", "digits", 2500.0, (100,)),
    Venue("XHKG", "HK", "HKD", 24, ".HK", "digits", 40.0, (100, 200, 400, 500, 1000, 2000)),
    Venue("XASX", "AU", "AUD", 24, ".AX", "alpha", 20.0),
)
N_ETFS = 20
N_ADRS = 16
N_BONDS = 15

# Regional sector mix (probabilities over the 11 GICS sectors, in SECTOR_NOUNS order).
_SECTOR_MIX = np.array([0.08, 0.11, 0.07, 0.06, 0.14, 0.12, 0.12, 0.16, 0.06, 0.04, 0.04])

ETF_NAMES: tuple[tuple[str, str], ...] = (
    ("US Total Market", "US"),
    ("US Large Cap", "US"),
    ("US Small Cap", "US"),
    ("US Dividend", "US"),
    ("Developed ex-US", "INTL"),
    ("Europe Equity", "EU"),
    ("Japan Equity", "JP"),
    ("Asia Pacific", "AP"),
    ("Emerging Markets", "EM"),
    ("Global Clean Energy", "US"),
    ("US Technology", "US"),
    ("US Health Care", "US"),
    ("US Aggregate Bond", "BOND"),
    ("Short Treasury", "BOND"),
    ("TIPS", "BOND"),
    ("Investment Grade Corporate", "BOND"),
    ("High Yield Corporate", "BOND"),
    ("International Bond", "BOND"),
    ("Global REIT", "US"),
    ("US Quality Factor", "US"),
)


def _alpha_ticker(stem: str, rng: np.random.Generator, used: set[str], length: int) -> str:
    letters = [c for c in stem.upper() if c.isalpha()]
    for attempt in range(200):
        if attempt < 20:
            cand = letters[0] + "".join(rng.choice(letters[1:] or letters, size=length - 1))
        else:
            cand = letters[0] + "".join(rng.choice(list("ABCDEFGHIJKLMNOPRSTUVWXYZ"), size=length - 1))
        if cand not in used:
            used.add(cand)
            return cand
    raise RuntimeError("ran out of tickers")


def _digits_ticker(rng: np.random.Generator, used: set[str], width: int) -> str:
    while True:
        cand = str(int(rng.integers(1, 10**width))).zfill(width)
        if cand not in used and cand != "0" * width:
            used.add(cand)
            return cand


def _unique(rng: np.random.Generator, used: set[str], alphabet: str, n: int) -> str:
    while True:
        cand = "".join(rng.choice(list(alphabet), size=n))
        if cand not in used:
            used.add(cand)
            return cand


class _Ids:
    """Makes unique, check-digit-valid identifiers."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def cusip(self) -> str:
        body = _unique(self.rng, self.used, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", 6) + "10"
        return body + cusip_check_digit(body)

    def sedol(self) -> str:
        body = "B" + _unique(self.rng, self.used, "0123456789BCDFGHJKLMNPQRSTVWXYZ", 5)
        return body + sedol_check_digit(body)

    def isin(self, country: str, nsin: str | None = None) -> str:
        nsin = nsin or _unique(self.rng, self.used, "0123456789", 9)
        body = country + nsin.rjust(9, "0")
        return body + isin_check_digit(body)


def build_universe() -> pd.DataFrame:
    """Every demo security as one row; columns follow the securities table plus `ordinary` (symbol)."""
    rng = np.random.default_rng(UNIVERSE_SEED)
    ids = _Ids(rng)
    sectors = list(SECTOR_NOUNS)
    stems = list(STEMS)
    rng.shuffle(stems)
    stem_iter = iter(stems * 3)
    used_tickers: dict[str, set[str]] = {}
    rows: list[dict[str, object]] = []
    for v in EQUITY_VENUES:
        used = used_tickers.setdefault(v.country if v.country == "US" else v.mic, set())
        for _ in range(v.count):
            stem = next(stem_iter)
            sector = sectors[int(rng.choice(len(sectors), p=_SECTOR_MIX))]
            noun = str(rng.choice(SECTOR_NOUNS[sector]))
            name = f"{stem} {noun} {rng.choice(SUFFIX_BY_COUNTRY[v.country])}"
            if v.ticker == "digits":
                local = _digits_ticker(rng, used, 4)
            else:
                local = _alpha_ticker(stem, rng, used, int(rng.choice([3, 4])) if v.country == "US" else 3)
            if v.country in ("US", "CA"):
                cusip = ids.cusip()
                isin = ids.isin(v.country, cusip)
            else:
                cusip = None
                isin = None
            sedol = ids.sedol()
            if v.country == "GB":
                isin = ids.isin("GB", "00" + sedol)
            isin = isin or ids.isin(v.country)
            flag = FLAGGED_NOUNS.get(noun)
            score = float(np.clip(rng.normal(58 if flag is None else 35, 16), 5, 95))
            rows.append(
                dict(
                    symbol=local + v.suffix,
                    name=name,
                    asset_class="equity",
                    currency=v.currency,
                    mic=v.mic,
                    country=v.country,
                    sector=sector,
                    industry=noun,
                    issuer=name,
                    isin=isin,
                    cusip=cusip,
                    sedol=sedol,
                    local_ticker=local,
                    lot_size=int(rng.choice(v.lot_sizes)),
                    price_multiplier=1.0,
                    esg_score=round(score, 1),
                    esg_flags=[flag] if flag else [],
                    ordinary=None,
                    adr_ratio=None,
                    adr_sponsored=None,
                    restricted_client_types=[],
                    restricted_domiciles=[],
                    coupon=None,
                    maturity=None,
                    median_price=v.median_price,
                )
            )
    us_used = used_tickers["US"]
    # ADRs on NYSE for large foreign ordinaries.
    foreign = [r for r in rows if r["country"] not in ("US", "CA")]
    picks = rng.choice(len(foreign), size=N_ADRS, replace=False)
    for i in picks:
        o = foreign[int(i)]
        local = _alpha_ticker(
            str(o["local_ticker"]) if o["country"] not in ("JP", "HK") else str(o["name"]), rng, us_used, 4
        )
        ratio = {"JP": 2.0, "HK": 10.0, "GB": 4.0}.get(str(o["country"]), 1.0)
        cusip = ids.cusip()
        sponsored = bool(rng.random() < 0.8)
        rows.append(
            dict(
                symbol=local,
                name=f"{o['name']} ADR",
                asset_class="adr",
                currency="USD",
                mic="XNYS",
                country=o["country"],
                sector=o["sector"],
                industry=o["industry"],
                issuer=o["issuer"],
                isin=ids.isin("US", cusip),
                cusip=cusip,
                sedol=ids.sedol(),
                local_ticker=local,
                lot_size=1,
                price_multiplier=1.0,
                esg_score=o["esg_score"],
                esg_flags=[str(f) for f in o["esg_flags"]],  # type: ignore[attr-defined]
                ordinary=o["symbol"],
                adr_ratio=ratio,
                adr_sponsored=sponsored,
                restricted_client_types=[],
                restricted_domiciles=[],
                coupon=None,
                maturity=None,
                median_price=None,
            )
        )
    for k, (label, region) in enumerate(ETF_NAMES):
        local = _alpha_ticker("S" + label.replace(" ", ""), rng, us_used, 3 + (k % 2))
        cusip = ids.cusip()
        bondish = region == "BOND"
        rows.append(
            dict(
                symbol=local,
                name=f"Simulated {label} {'Bond ' if bondish and 'Bond' not in label else ''}ETF",
                asset_class="etf",
                currency="USD",
                mic="ARCX",
                country="US",
                sector="Fixed Income" if bondish else "Multi-Sector",
                industry="Exchange Traded Fund",
                issuer="Simulated Fund Trust",
                isin=ids.isin("US", cusip),
                cusip=cusip,
                sedol=ids.sedol(),
                local_ticker=local,
                lot_size=1,
                price_multiplier=1.0,
                esg_score=round(float(np.clip(rng.normal(60, 8), 30, 90)), 1),
                esg_flags=["fossil_fuels"] if label == "US Dividend" else [],
                ordinary=None,
                adr_ratio=None,
                adr_sponsored=None,
                restricted_client_types=[],
                restricted_domiciles=["onshore"] if k in (2, 17) else [],
                coupon=None,
                maturity=None,
                median_price=100.0 if not bondish else 80.0,
                region=region,
            )
        )
    us_issuers = [r for r in rows if r["country"] == "US" and r["asset_class"] == "equity"]
    bond_issuers = rng.choice(len(us_issuers), size=N_BONDS, replace=False)
    for k, i in enumerate(bond_issuers):
        iss = us_issuers[int(i)]
        coupon = float(rng.choice([2.5, 3.125, 3.75, 4.0, 4.25, 4.5, 4.875, 5.25, 5.5, 6.0]))
        year = 2027 + int(rng.integers(1, 12))
        cusip = ids.cusip()
        pro_only = k % 4 == 0
        rows.append(
            dict(
                symbol=f"{iss['local_ticker']}-{coupon:g}-{year}",
                name=f"{iss['name']} {coupon:g}% {year}",
                asset_class="fixed_income",
                currency="USD",
                mic="XOFF",
                country="US",
                sector="Fixed Income",
                industry="Corporate Bond",
                issuer=iss["issuer"],
                isin=ids.isin("US", cusip),
                cusip=cusip,
                sedol=None,
                local_ticker=None,
                lot_size=1000,
                price_multiplier=0.01,
                esg_score=iss["esg_score"],
                esg_flags=[str(f) for f in iss["esg_flags"]],  # type: ignore[attr-defined]
                ordinary=None,
                adr_ratio=None,
                adr_sponsored=None,
                restricted_client_types=["professional", "institutional"] if pro_only else [],
                restricted_domiciles=[],
                coupon=coupon / 100,
                maturity=pd.Timestamp(f"{year}-06-15").date(),
                median_price=100.0,
            )
        )
    df = pd.DataFrame(rows)
    if "region" not in df:
        df["region"] = None
    df["region"] = df["region"].where(df["region"].notna(), df["country"])
    assert df["symbol"].is_unique, "demo symbols must be unique"
    return df.reset_index(drop=True)
