"""The hard limits a run solved under, kept with each proposal so an edit is re-checked against the
run's own limits (a `--max-turnover 0.05` run stays at 5% after an edit), not the firm's defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.rebalance.settings import Mode, RebalanceSettings


def run_limits(s: RebalanceSettings) -> dict[str, Any]:
    """The settings the exact post-rounding check reads, as JSON for the proposal's payload."""
    return {
        "sector_cap": s.sector_cap,
        "sector_caps": dict(sorted(s.sector_caps.items())),
        "country_cap": s.country_cap,
        "issuer_cap": s.issuer_cap,
        "max_turnover": s.max_turnover,
        "min_trade_usd": s.min_trade_usd,
        "gains_budget_base": s.gains_budget_base,
        "cash_raise_base": s.cash_raise_base,
        "cash_raise_by": None if s.cash_raise_by is None else s.cash_raise_by.isoformat(),
        "exclude_symbols": list(s.exclude_symbols),
    }


def settings_for(payload: dict[str, Any]) -> RebalanceSettings:
    """The settings a stored proposal is re-checked against: its mode and the run's limits. A
    proposal stored before limits were kept is checked against the firm's defaults, with a cash
    raise keeping at least the cash the account had (its amount was not stored)."""
    try:
        mode = Mode(str(payload.get("mode") or "full"))
    except ValueError:
        mode = Mode.FULL
    lim = payload.get("limits")
    if not isinstance(lim, dict):
        return RebalanceSettings(mode=mode, skip_in_band=False)
    by = lim.get("cash_raise_by")
    return RebalanceSettings(
        mode=mode,
        skip_in_band=False,
        sector_cap=float(lim["sector_cap"]),
        sector_caps={str(k): float(v) for k, v in (lim.get("sector_caps") or {}).items()},
        country_cap=None if lim.get("country_cap") is None else float(lim["country_cap"]),
        issuer_cap=float(lim["issuer_cap"]),
        max_turnover=float(lim["max_turnover"]),
        min_trade_usd=float(lim["min_trade_usd"]),
        gains_budget_base=None if lim.get("gains_budget_base") is None else float(lim["gains_budget_base"]),
        cash_raise_base=float(lim.get("cash_raise_base") or 0.0),
        cash_raise_by=None if by is None else date.fromisoformat(str(by)),
        exclude_symbols=tuple(str(x) for x in lim.get("exclude_symbols") or ()),
    )
