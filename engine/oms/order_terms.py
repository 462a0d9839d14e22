"""The rules an order's type and time in force must follow where the order is created (file
import, compliance check, the desk's create): each broken rule is one (field, reason).

Stops need a stop price, limit types a positive limit and nothing else has either; GTD needs an
expiry in the future and nothing else has one; market-on-close and limit-on-close are day orders
entered before the market's close cut-off (so is any at_the_close order, the same on the wire) (resources/reference/close_cutoffs.csv, minutes before
the close per exchange; 10 when the exchange is not listed).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

import resources
from engine.markets.clock import MarketClock
from engine.oms.drafts import HAS_LIMIT, HAS_STOP, ON_CLOSE, ORDER_TYPES, TIME_IN_FORCE

DEFAULT_CUTOFF_MINUTES = 10
NO_XOFF_CUTOFF = "XOFF"  # OTC (FX spot, bonds): no closing auction


@cache
def close_cutoffs() -> dict[str, int]:
    """Exchange MIC -> minutes before the close after which no on-close order is accepted."""
    with resources.path("reference", "close_cutoffs.csv").open(newline="", encoding="utf-8") as f:
        return {r["mic"].strip(): int(r["minutes_before_close"]) for r in csv.DictReader(f)}


def cutoff(markets: MarketClock, mic: str, now: datetime) -> datetime:
    """The last instant an on-close order for `mic` is accepted in the session `now` is in (or the next)."""
    minutes = close_cutoffs().get(mic, DEFAULT_CUTOFF_MINUTES)
    return markets.next_close(mic, now) - timedelta(minutes=minutes)


def term_problems(
    order_type: str,
    time_in_force: str,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    expire_at: datetime | None,
    *,
    mic: str | None,
    markets: MarketClock,
    now: datetime,
) -> list[tuple[str, str]]:
    """Every rule the order's terms break, as (field, reason); empty when they are valid."""
    bad: list[tuple[str, str]] = []
    if order_type not in ORDER_TYPES:
        return [("order_type", f"order_type must be one of {', '.join(ORDER_TYPES)}")]
    if time_in_force not in TIME_IN_FORCE:
        return [("time_in_force", f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}")]
    if order_type in HAS_LIMIT and (limit_price is None or limit_price <= 0):
        bad.append(("limit_price", f"a {order_type} order needs a positive limit price"))
    if order_type not in HAS_LIMIT and limit_price is not None:
        bad.append(("limit_price", f"a {order_type} order has no limit price"))
    if order_type in HAS_STOP and (stop_price is None or stop_price <= 0):
        bad.append(("stop_price", f"a {order_type} order needs a positive stop price"))
    if order_type not in HAS_STOP and stop_price is not None:
        bad.append(("stop_price", f"a {order_type} order has no stop price"))
    if time_in_force == "gtd":
        if expire_at is None:
            bad.append(("expire_at", "a gtd order needs an expiry (expire_at)"))
        elif expire_at.tzinfo is None:
            bad.append(("expire_at", "the expiry needs its UTC offset"))
        elif expire_at <= now:
            bad.append(("expire_at", f"expiry {expire_at.isoformat()} is not in the future"))
    elif expire_at is not None:
        bad.append(("expire_at", "only a gtd order has an expiry"))
    if order_type in ON_CLOSE and time_in_force != "day":
        bad.append(("time_in_force", f"a {order_type} order is a day order"))
    if order_type in ON_CLOSE or time_in_force == "at_the_close":  # the same order on the wire
        if mic is None or mic == NO_XOFF_CUTOFF or mic not in markets.markets:
            bad.append(("order_type", "an on-close order needs an exchange with a closing auction"))
        else:
            last = cutoff(markets, mic, now)
            if now > last:
                bad.append(
                    (
                        "order_type",
                        f"{mic}'s on-close cut-off {last.isoformat()} has passed; send it next session",
                    )
                )
    return bad
