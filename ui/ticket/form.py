"""What the ticket's fields mean: choices shown to the trader and their engine values, and turning
the typed text into an engine.ticket.TicketRequest (ValueError names the field)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from engine.oms.drafts import ORDER_TYPES
from engine.oms.strategies import parse_params
from engine.ticket.sizing import Size
from ui.replace_dialog import parse_amount

SCOPES = [
    ("Account", "account"),
    ("Accounts (list)", "accounts"),
    ("Household", "household"),
    ("Model", "model"),
]
SIZES = [("Quantity", "quantity"), ("% of account", "percent"), ("Notional", "notional")]
TYPES = [
    ("Market", "market"),
    ("Limit", "limit"),
    ("Stop", "stop"),
    ("Stop limit", "stop_limit"),
    ("Market on close (MOC)", "market_on_close"),
    ("Limit on close (LOC)", "limit_on_close"),
]
TIFS = [("Day", "day"), ("GTC", "gtc"), ("GTD", "gtd"), ("IOC", "ioc"), ("FOK", "fok")]
assert {v for _l, v in TYPES} == set(ORDER_TYPES)

HAS_LIMIT = {"limit", "stop_limit", "limit_on_close"}
HAS_STOP = {"stop", "stop_limit"}


def gtd_expiry(day: date) -> datetime:
    """A GTD date as the ticket sends it: the end of that day in UTC (the OMS checks it is ahead)."""
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


def request_from(
    *,
    scope: str,
    keys: list[str],
    security: str,
    side: str,
    size_kind: str,
    amount: str,
    currency: str | None,
    order_type: str,
    limit: str,
    stop: str,
    tif: str,
    expire: date | None,
    broker: str,
    strategy: str,
    params: str,
) -> object:
    """An engine TicketRequest from the fields; ValueError "field: reason" for typing mistakes (the
    engine's plan names the rest: unknown accounts, securities, broken order-type rules)."""
    from engine.ticket.service import TicketRequest

    qty = parse_amount(amount, "size")
    assert qty is not None
    px = parse_amount(limit, "limit price", allow_empty=True) if order_type in HAS_LIMIT else None
    stop_px = parse_amount(stop, "stop price", allow_empty=True) if order_type in HAS_STOP else None
    parsed = parse_params(params) if params.strip() else {}
    if parsed is None:
        raise ValueError("strategy parameters: write them as name=value;name=value")
    return TicketRequest(
        scope=scope,
        keys=tuple(keys),
        security=security,
        side=side,
        size=Size(size_kind, qty, currency if size_kind == "notional" else None),
        order_type=order_type,
        limit_price=px,
        stop_price=stop_px,
        time_in_force=tif,
        expire_at=gtd_expiry(expire) if tif == "gtd" and expire is not None else None,
        broker=broker or None,
        strategy=strategy or None,
        strategy_params=tuple(sorted(parsed.items())),
    )


def decimal_text(value: object) -> str:
    """A number for a field: no exponent, no trailing zeros ("1500", "101.25")."""
    if value is None or value != value:
        return ""
    d = Decimal(str(value)).normalize()
    return f"{d:f}"
