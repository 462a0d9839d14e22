"""Closed sets of domain values. Stored by their string value."""

from __future__ import annotations

from enum import StrEnum


class AssetClass(StrEnum):
    EQUITY = "equity"
    ETF = "etf"
    ADR = "adr"
    FIXED_INCOME = "fixed_income"
    CASH_EQUIVALENT = "cash_equivalent"


class TaxStatus(StrEnum):
    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"
    EXEMPT = "exempt"


class ClientType(StrEnum):
    RETAIL = "retail"
    PROFESSIONAL = "professional"
    INSTITUTIONAL = "institutional"


class Domicile(StrEnum):
    ONSHORE = "onshore"
    OFFSHORE = "offshore"


class KycStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    EXPIRED = "expired"
    REJECTED = "rejected"


class RiskRating(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class LotRelief(StrEnum):
    """How sells pick lots. FIFO is the broker default when none is named."""

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    MIN_TAX = "min_tax"
    SPECIFIC = "specific"


class Role(StrEnum):
    PORTFOLIO_MANAGER = "portfolio_manager"
    TRADER = "trader"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    OPERATIONS = "operations"
    """Middle office: loads custodian activity and corporate actions, runs the day cycle, works breaks."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class EsgFlag(StrEnum):
    """Business-involvement screens an account can exclude."""

    FOSSIL_FUELS = "fossil_fuels"
    TOBACCO = "tobacco"
    WEAPONS = "weapons"
    GAMBLING = "gambling"
    ALCOHOL = "alcohol"
    NUCLEAR = "nuclear"


SECTORS: tuple[str, ...] = (
    "Communication Services",
    "Consumer Discretionary",
    "Consumer Staples",
    "Energy",
    "Financials",
    "Health Care",
    "Industrials",
    "Information Technology",
    "Materials",
    "Real Estate",
    "Utilities",
    "Fixed Income",
    "Multi-Sector",
)
"""GICS sector names, plus buckets for bonds and broad funds."""
