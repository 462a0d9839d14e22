"""A rebalance run's options as one typed object, checked and turned into RebalanceSettings here so
the CLI (`workstation rebalance`) and the desk's proposals dock build identical settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from engine.errors import WorkstationError
from engine.rebalance.settings import DirectedTrade, Mode, RebalanceSettings, Style
from engine.store.database import Database
from engine.store.reference import Security

_DEFAULT = RebalanceSettings()


@dataclass(frozen=True)
class RunOptions:
    """What a PM chooses for one run (field names as the CLI options; fractions, not percent)."""

    mode: Mode = Mode.FULL
    style: Style = Style.STANDARD
    minmax_to: str = "edge"
    sleeve: tuple[str, ...] = ()
    min_improvement: float = 0.0
    defer_gains_days: int = 0
    max_turnover: float | None = None  # None: the firm default (no cap)
    households: bool = False
    what_if: bool = False  # nothing saved
    tax_budget: float | None = None
    cash_raise: float = 0.0
    cash_raise_by: date | None = None
    trade_date: date | None = None
    time_limit_s: float = _DEFAULT.time_limit_s
    skip_in_band: bool = True
    harvest_min_loss_base: float = _DEFAULT.harvest_min_loss_base
    harvest_min_pct: float = _DEFAULT.harvest_min_pct
    harvest_interval_days: int = _DEFAULT.harvest_interval_days
    substitutes_file: str | None = None
    directed: DirectedTrade | None = None
    equivalents_file: str | None = None


def _bad(field: str, reason: str) -> WorkstationError:
    return WorkstationError(f"{field}: {reason}")


# Why a directed trade and household solves do not combine (documented in docs/rebalance.md).
HOUSEHOLD_DIRECTED = (
    "style directed does not combine with households: a directed trade buys or sells a percentage "
    "of each account's own value, in priority order up to a limit across accounts, and keeps each "
    "account's other positions; a household solve moves the household's accounts together toward "
    "its target and would offset the trade in the household's other accounts: run it without households"
)


def _in(field: str, value: float, lo: float, hi: float) -> None:
    if not (math.isfinite(value) and lo <= value <= hi):
        raise _bad(field, f"{value:g} is out of range: expected {lo:g} to {hi:g}")


def build_settings(o: RunOptions) -> RebalanceSettings:
    """The run's settings; a bad value or combination is refused naming the field (nothing runs)."""
    mode, style = Mode(o.mode), Style(o.style)
    if o.max_turnover is not None:
        _in("max turnover", o.max_turnover, 0.0, 2.0)
    _in("min improvement", o.min_improvement, 0.0, 1.0)
    _in("defer gains", o.defer_gains_days, 0, 366)
    if o.minmax_to not in ("edge", "target"):
        raise _bad("minmax to", f"{o.minmax_to!r} is neither edge nor target")
    if o.tax_budget is not None and not (math.isfinite(o.tax_budget) and o.tax_budget >= 0):
        raise _bad("tax budget", f"{o.tax_budget:g} must be an amount >= 0 (base currency)")
    if not (math.isfinite(o.cash_raise) and o.cash_raise >= 0):
        raise _bad("cash raise", f"{o.cash_raise:g} must be an amount >= 0 (base currency)")
    if mode == Mode.CASH_RAISE and o.cash_raise <= 0:
        raise _bad("cash raise", "mode cash-raise needs an amount (base currency, > 0)")
    if o.cash_raise_by is not None and mode != Mode.CASH_RAISE:
        raise _bad("cash raise by", "needs mode cash-raise")
    if o.harvest_min_loss_base < 0 or not 0 <= o.harvest_min_pct < 1 or o.harvest_interval_days < 0:
        raise _bad("harvest", "min loss must be >= 0, min pct in [0, 1), interval >= 0 days")
    sleeve = tuple(x.strip() for x in o.sleeve if x.strip())
    if style == Style.TACTICAL and not sleeve:
        raise _bad("sleeve", "style tactical needs sleeve labels (asset classes or sectors)")
    if sleeve and style != Style.TACTICAL:
        raise _bad("sleeve", "a sleeve needs style tactical")
    if (o.directed is not None) != (style == Style.DIRECTED):
        raise _bad("directed", "a directed trade and style directed go together")
    if style == Style.DIRECTED and mode != Mode.FULL:
        raise _bad("mode", "style directed trades one security: it takes no mode")
    if o.households and style == Style.DIRECTED:
        raise _bad("households", HOUSEHOLD_DIRECTED)
    return RebalanceSettings(
        mode=mode,
        max_turnover=_DEFAULT.max_turnover if o.max_turnover is None else o.max_turnover,
        gains_budget_base=o.tax_budget,
        cash_raise_base=o.cash_raise,
        cash_raise_by=o.cash_raise_by,
        trade_date=o.trade_date,
        time_limit_s=o.time_limit_s,
        skip_in_band=o.skip_in_band,
        households=o.households,
        harvest_min_loss_base=o.harvest_min_loss_base,
        harvest_min_pct=o.harvest_min_pct,
        harvest_interval_days=o.harvest_interval_days,
        substitutes_file=o.substitutes_file,
        style=style,
        minmax_to=o.minmax_to,
        sleeve=sleeve,
        min_improvement=o.min_improvement,
        directed=o.directed,
        equivalents_file=o.equivalents_file,
        defer_gains_days=o.defer_gains_days,
    )


def check_sleeve(database: Database, sleeve: tuple[str, ...]) -> None:
    """Every sleeve label is an asset class or a sector of the security master."""
    with database.session() as s:
        known = set(s.scalars(select(Security.asset_class).distinct())) | set(
            s.scalars(select(Security.sector).distinct())
        )
    unknown = [x for x in sleeve if x not in known]
    if unknown:
        raise _bad("sleeve", f"{', '.join(unknown)} is neither an asset class nor a sector")


def run_styled(database: Database, settings: RebalanceSettings, ids: list[int] | None, **kw: Any) -> Any:
    """`run_bulk`, or `run_directed` for a directed-trade run (same result shape, a BulkResult)."""
    from engine.rebalance.bulk import run_bulk  # cvxpy: imported on first use, not at startup
    from engine.rebalance.directed import run_directed

    if settings.sleeve:
        check_sleeve(database, settings.sleeve)
    if settings.style == Style.DIRECTED:
        return run_directed(database, settings, ids, user=kw.get("user"), save=kw.get("save", True))
    return run_bulk(database, settings, ids, **kw)
