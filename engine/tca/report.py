"""The best-execution report: every order's cost, and aggregates per broker and per trader.

Aggregates are in the base currency (`currency`, default USD, at each trade date's FX rate):
orders, filled notional, paper notional (Q * A), shortfall money, and the weighted shortfall in bps
(sum of shortfalls / sum of paper notionals * 10,000, i.e. the paper-notional-weighted mean of the
orders' bps); slippage in bps weighted by filled notional. Orders without an arrival price or an
FX rate are counted (`unmeasured`) but left out of the weighted figures. Reading it needs tca.read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import ConfigurationError
from engine.model.currency import is_currency
from engine.reports.numbers import money, round_to
from engine.tca.load import load_facts
from engine.tca.measures import BPS, ZERO, OrderCost, measure

MARKET = "the SIMULATED market's prints (connectors.broker_sim.tape), not a real market"


def _bps(x: Decimal | None) -> Decimal | None:
    return None if x is None else round_to(x, 2) + ZERO  # + 0: no -0.00


def _m(x: Decimal | None, ccy: str) -> Decimal | None:
    return None if x is None else money(x, ccy)


def order_row(c: OrderCost, base: str) -> dict[str, Any]:
    """One order's line of the report (money in the order currency and the base currency)."""
    f = c.facts
    ccy = f.currency
    return {
        "order_id": f.order_id,
        "cl_ord_id": f.cl_ord_id,
        "broker": f.broker,
        "trader": f.trader,
        "symbol": f.symbol,
        "side": f.side,
        "status": f.status,
        "trade_date": f.trade_date,
        "quantity": f.quantity,
        "filled": c.filled,
        "fill_rate": round_to(c.fill_rate, 4),
        "currency": ccy,
        "arrival_px": f.arrival,
        "avg_px": None if c.avg_px is None else round_to(c.avg_px, 6),
        "interval_vwap": None if c.vwap is None else round_to(c.vwap, 6),
        "end_px": f.end_px,
        "execution_cost": _m(c.execution_cost, ccy),
        "opportunity_cost": _m(c.opportunity_cost, ccy),
        "fees": _m(f.fees, ccy),
        "shortfall": _m(c.shortfall, ccy),
        "shortfall_base": _m(c.base(c.shortfall), base),
        "notional_base": _m(c.base(c.filled_notional), base),
        "shortfall_bps": _bps(c.shortfall_bps),
        "slippage_arrival_bps": _bps(c.slippage_arrival_bps),
        "slippage_vwap_bps": _bps(c.slippage_vwap_bps),
        "missing": list(c.missing) + ([] if f.fx is not None else [f"FX rate {ccy}->{base}"]),
    }


def _weighted(pairs: Iterable[tuple[Decimal | None, Decimal | None]]) -> Decimal | None:
    num = den = ZERO
    for value, weight in pairs:
        if value is not None and weight is not None and weight > 0:
            num += value * weight
            den += weight
    return None if den == 0 else num / den


def aggregate(costs: list[OrderCost], base: str) -> dict[str, Any]:
    """Orders, notionals, shortfall and weighted bps of a group of orders (base currency)."""
    measured = [c for c in costs if c.shortfall is not None and c.facts.fx is not None and c.paper_notional]
    paper = sum((c.base(c.paper_notional) or ZERO for c in measured), start=ZERO)
    shortfall = sum((c.base(c.shortfall) or ZERO for c in measured), start=ZERO)
    filled = [(c, c.base(c.filled_notional)) for c in costs if c.facts.fx is not None]
    got = sum((c.base(c.filled * (c.facts.arrival or ZERO)) or ZERO for c in measured), start=ZERO)
    return {
        "orders": len(costs),
        "unmeasured": len(costs) - len(measured),
        "notional": money(sum((n or ZERO for _, n in filled), start=ZERO), base),
        "paper_notional": money(paper, base),
        "shortfall": money(shortfall, base),
        "shortfall_bps": _bps(shortfall / paper * BPS if paper else None),
        "slippage_arrival_bps": _bps(_weighted((c.slippage_arrival_bps, n) for c, n in filled)),
        "slippage_vwap_bps": _bps(_weighted((c.slippage_vwap_bps, n) for c, n in filled)),
        "fill_rate": None if not paper else round_to(got / paper, 4),
    }


def _groups(
    costs: list[OrderCost], key: Callable[[OrderCost], str], name: str, base: str
) -> list[dict[str, Any]]:
    keys = sorted({key(c) for c in costs})
    return [{name: k, **aggregate([c for c in costs if key(c) == k], base)} for k in keys]


def tca_report(
    s: Session,
    username: str,
    start: date,
    end: date,
    *,
    broker: str | None = None,
    trader: str | None = None,
    currency: str = "USD",
) -> dict[str, Any]:
    """The best-execution report of orders released to brokers from `start` to `end` (UTC days)."""
    require(s, username, Permission.TCA_READ)
    if end < start:
        raise ConfigurationError(f"--to {end} is before --from {start}")
    if not is_currency(currency):
        raise ConfigurationError(f"currency {currency!r} is not an ISO 4217 code")
    costs = [measure(f) for f in load_facts(s, start, end, currency, broker, trader)]
    return {
        "from": start,
        "to": end,
        "currency": currency,
        "broker": broker,
        "trader": trader,
        "market": MARKET,
        "sign": "positive = cost, for buys and sells",
        "orders": [order_row(c, currency) for c in costs],
        "by_broker": _groups(costs, lambda c: c.facts.broker, "broker", currency),
        "by_trader": _groups(costs, lambda c: c.facts.trader, "trader", currency),
        "total": aggregate(costs, currency),
    }
