"""One reader for orders CSV files: `orders import` and `compliance check` accept exactly the same
columns and refuse exactly the same rows, each problem naming its row, column and reason.

Columns: account, symbol, side, quantity, order_type, limit_price, time_in_force, broker
(broker names a FIX session by its TargetCompID), and the optional stop_price, expire_at (an ISO
date, meaning that session's close at the symbol's exchange, or an ISO date-time with its UTC
offset), strategy and strategy_params (one of the broker's algorithms, engine.oms.strategies).
The order's terms follow engine.oms.order_terms (stops, GTD, on-close cut-offs). Quantities and
prices must be finite, positive and within engine.imports.parse's bounds (no NaN, no infinity, no
absurd sizes); accounts and symbols must be in the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock, SystemClock
from engine.errors import ImportValidationError, Problem
from engine.imports import parse
from engine.imports.csvread import Row, read_csv
from engine.markets.clock import MarketClock
from engine.oms.drafts import ORDER_TYPES, SIDES, TIME_IN_FORCE, OrderDraft
from engine.oms.order_terms import term_problems
from engine.oms.strategies import parse_params, strategy_problems
from engine.store.accounts import Account
from engine.store.reference import Security

COLUMNS = ("account", "symbol", "side", "quantity", "order_type", "limit_price", "time_in_force", "broker")
OPTIONAL = ("stop_price", "expire_at", "strategy", "strategy_params")


@dataclass(frozen=True)
class OrderRow:
    """A valid order of the file and its spreadsheet row number (the header is row 1)."""

    row: int
    draft: OrderDraft


def read_order_file(session: Session, path: Path, clock: Clock | None = None) -> list[OrderRow]:
    """Every row validated at `clock`'s time (the machine's by default); ImportValidationError
    lists all problems (row, column, reason)."""
    table = read_csv(path, required=COLUMNS, optional=OPTIONAL)
    problems = list(table.problems)
    accounts = set(session.scalars(select(Account.code)))
    mics = dict(session.execute(select(Security.symbol, Security.mic)).tuples().all())
    markets = MarketClock.from_store(session, clock or SystemClock())
    out: list[OrderRow] = []
    for row in table.rows:
        bad, draft = _parse_row(row, accounts, mics, markets)
        problems += bad
        if draft is not None:
            out.append(OrderRow(row.number, draft))
    if not problems and not out:
        problems.append(Problem(1, "(file)", "no orders in the file"))
    if problems:
        raise ImportValidationError(table.source, problems)
    return out


def _parse_row(
    row: Row, accounts: set[str], mics: dict[str, str], markets: MarketClock
) -> tuple[list[Problem], OrderDraft | None]:
    v = row.values
    bad: list[Problem] = []

    def need(col: str, ok: bool, why: str) -> None:
        if not ok:
            bad.append(Problem(row.number, col, why))

    need("account", v.get("account", "") in accounts, f"unknown account {v.get('account', '')!r}")
    need("symbol", v.get("symbol", "") in mics, f"unknown symbol {v.get('symbol', '')!r}")
    side = v.get("side", "").lower()
    need("side", side in SIDES, f"side must be one of {', '.join(SIDES)}")
    qty = Decimal(0)
    try:
        qty = parse.positive(v.get("quantity", ""), parse.QUANTITY)
    except parse.ParseError as exc:
        bad.append(Problem(row.number, "quantity", str(exc)))
    otype = v.get("order_type", "").lower()
    need("order_type", otype in ORDER_TYPES, f"order_type must be one of {', '.join(ORDER_TYPES)}")
    limit = _price(row, "limit_price", bad)
    stop = _price(row, "stop_price", bad)
    tif = v.get("time_in_force", "").lower() or "day"
    need("time_in_force", tif in TIME_IN_FORCE, f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}")
    mic = mics.get(v.get("symbol", ""))
    expire = _expiry(row, mic, markets, bad)
    if otype in ORDER_TYPES:  # prices are checked even when time_in_force is wrong; each column once
        seen = {p.column for p in bad} | ({"expire_at"} if tif not in TIME_IN_FORCE else set())
        known = tif if tif in TIME_IN_FORCE else "day"
        now = markets.clock.now()
        terms = term_problems(otype, known, limit, stop, expire, mic=mic, markets=markets, now=now)
        bad += [Problem(row.number, col, why) for col, why in terms if col not in seen]
    broker = v.get("broker", "")
    need("broker", 0 < len(broker) <= 64, "name the FIX session's TargetCompID (1-64 characters)")
    strategy = v.get("strategy", "").lower() or None
    params = parse_params(v.get("strategy_params", ""))
    need("strategy_params", params is not None, "write the parameters as name=value;name=value")
    if otype in ORDER_TYPES and tif in TIME_IN_FORCE and params is not None:
        seen = {p.column for p in bad}
        terms = strategy_problems(broker, strategy, params, otype, tif)
        bad += [Problem(row.number, col, why) for col, why in terms if col not in seen]
    if bad:
        return bad, None
    draft = OrderDraft(
        account=v["account"],
        symbol=v["symbol"],
        side=side,
        quantity=qty,
        order_type=otype,
        limit_price=limit,
        time_in_force=tif,
        broker=broker,
        stop_price=stop,
        expire_at=expire,
        strategy=strategy,
        strategy_params=tuple(sorted((params or {}).items())),
    )
    return bad, draft


def _price(row: Row, col: str, bad: list[Problem]) -> Decimal | None:
    """A positive price, or None for an empty cell (order_terms says whether the type needs one)."""
    text = row.values.get(col, "")
    if not text:
        return None
    try:
        return parse.positive(text, parse.PRICE)
    except parse.ParseError as exc:
        bad.append(Problem(row.number, col, str(exc)))
        return None


def _expiry(row: Row, mic: str | None, markets: MarketClock, bad: list[Problem]) -> datetime | None:
    """expire_at: an ISO date-time with its offset, or a date = that session's close at `mic`."""
    text = row.values.get("expire_at", "")
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if mic is None or mic not in markets.markets:
                bad.append(
                    Problem(row.number, "expire_at", "a date needs the symbol's exchange; give a time")
                )
                return None
            start = datetime.combine(day, time(0), ZoneInfo(markets.market(mic).timezone))
            close = markets.next_close(mic, start)
            if markets.session_date(mic, close - timedelta(minutes=1)) != day:  # its last minute
                bad.append(Problem(row.number, "expire_at", f"{day} is not a trading day at {mic}"))
                return None
            return close
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        bad.append(Problem(row.number, "expire_at", f"not an ISO date or date-time: {text!r}"))
        return None
    if at.tzinfo is None:
        bad.append(Problem(row.number, "expire_at", "give the time's UTC offset (e.g. 2026-11-24T20:00:00Z)"))
        return None
    return at
