"""Rebalance settings: modes, firm-wide limits and the per-market cost table (all data, no logic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Mode(StrEnum):
    FULL = "full"
    CASH_RAISE = "cash-raise"
    CASH_DEPLOY = "cash-deploy"
    BUY_ONLY = "buy-only"
    SELL_ONLY = "sell-only"
    TAX_LOSS_HARVEST = "tlh"


class Style(StrEnum):
    """How a run may trade (engine.rebalance.styles); each is a restriction of the one optimiser."""

    STANDARD = "standard"  # every position may trade (the mode decides how)
    MINMAX = "minmax"  # only positions outside their band, to the band edge or to target
    TACTICAL = "tactical"  # only the securities of one sleeve (asset class or sector)
    DIRECTED = "directed"  # buy or sell X% of one security across accounts (engine.rebalance.directed)


@dataclass(frozen=True)
class DirectedTrade:
    """A directed trade: buy `pct` of each account's value in `symbol`, or sell `pct` of its holding."""

    symbol: str
    side: str  # "buy" or "sell"
    pct: float  # fraction: of the account's value (buy) or of the position held (sell)
    limit_qty: float | None = None  # total quantity across the accounts, in priority order
    priority: tuple[tuple[str, int], ...] = ()  # (account code, priority): lower first


# One-way cost per market as a fraction of value: commission plus half the spread (estimates).
MARKET_COST: dict[str, float] = {
    "XNYS": 0.0003,
    "XNAS": 0.0003,
    "XTSE": 0.0006,
    "XLON": 0.0010,
    "XETR": 0.0010,
    "XPAR": 0.0010,
    "XAMS": 0.0010,
    "XSWX": 0.0010,
    "XTKS": 0.0010,
    "XHKG": 0.0016,
    "XASX": 0.0010,
}
DEFAULT_MARKET_COST = 0.0015
BOND_COST = 0.0025
FX_COST = 0.0003


@dataclass(frozen=True)
class RebalanceSettings:
    """Firm defaults; every field can be overridden for a run (and per account later)."""

    mode: Mode = Mode.FULL
    sector_cap: float = 0.50
    country_cap: float | None = None
    issuer_cap: float = 0.10
    max_turnover: float = 1.0
    min_trade_usd: float = 1000.0  # minimum trade value, converted to each base currency
    gains_budget_base: float | None = None
    cash_raise_base: float = 0.0
    cash_raise_by: date | None = None  # cash raise: only sells that settle by this date fund it
    trade_date: date | None = None  # sells trade on this date's session (default: the book's as-of)
    risk_aversion: float = 10.0
    polish_passes: int = 1  # re-solves without trades that rounding dropped (minimum size)
    # ... only when they exceed this share of the account: below it the board-lot repair after
    # rounding recovers nearly all of the tracking error (measured, docs/rebalance.md).
    polish_min_dropped: float = 0.03
    trade_penalty: float = 0.001
    cash_penalty: float = 5.0
    time_limit_s: float = 0.5
    skip_in_band: bool = True
    sector_caps: dict[str, float] = field(default_factory=dict)
    exclude_symbols: tuple[str, ...] = ()
    # Tax-loss harvest (mode tlh): a lot is harvested only when its loss exceeds both thresholds,
    # an account is harvested at most once per interval, and a harvested position is replaced by
    # a substitute from this list (None: resources/rebalance/substitutes.csv).
    harvest_min_loss_base: float = 1000.0
    harvest_min_pct: float = 0.05
    harvest_interval_days: int = 30
    substitutes_file: str | None = None
    # Household groups (engine.rebalance.households) solve their accounts in one problem.
    households: bool = False
    # Styles (engine.rebalance.styles): what the run may trade; all off by default.
    style: Style = Style.STANDARD
    minmax_to: str = "edge"  # minmax: "edge" of the band or "target"
    sleeve: tuple[str, ...] = ()  # tactical: asset classes or sectors that may trade
    min_improvement: float = 0.0  # skip accounts whose tracking error falls by less (a fraction)
    directed: DirectedTrade | None = None
    equivalents_file: str | None = None  # model securities replaced per account type (data)
    # Gains deferral: a lot with a gain that turns long-term within this many days of the trade
    # date is not sold unless a hard constraint forces it (0: off).
    defer_gains_days: int = 0
