"""One reader for orders CSV files: `orders import` and `compliance check` accept exactly the same
columns and refuse exactly the same rows, each problem naming its row, column and reason.

Columns: account, symbol, side, quantity, order_type, limit_price, time_in_force, broker
(broker names a FIX session by its TargetCompID). Quantities and prices must be finite, positive
and within engine.imports.parse's bounds (no NaN, no infinity, no absurd sizes); accounts and
symbols must be in the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import ImportValidationError, Problem
from engine.imports import parse
from engine.imports.csvread import Row, read_csv
from engine.oms.drafts import ORDER_TYPES, SIDES, TIME_IN_FORCE, OrderDraft
from engine.store.accounts import Account
from engine.store.reference import Security

COLUMNS = ("account", "symbol", "side", "quantity", "order_type", "limit_price", "time_in_force", "broker")


@dataclass(frozen=True)
class OrderRow:
    """A valid order of the file and its spreadsheet row number (the header is row 1)."""

    row: int
    draft: OrderDraft


def read_order_file(session: Session, path: Path) -> list[OrderRow]:
    """Every row validated; ImportValidationError lists all problems (row, column, reason)."""
    table = read_csv(path, required=COLUMNS)
    problems = list(table.problems)
    accounts = set(session.scalars(select(Account.code)))
    symbols = set(session.scalars(select(Security.symbol)))
    out: list[OrderRow] = []
    for row in table.rows:
        bad, draft = _parse_row(row, accounts, symbols)
        problems += bad
        if draft is not None:
            out.append(OrderRow(row.number, draft))
    if not problems and not out:
        problems.append(Problem(1, "(file)", "no orders in the file"))
    if problems:
        raise ImportValidationError(table.source, problems)
    return out


def _parse_row(row: Row, accounts: set[str], symbols: set[str]) -> tuple[list[Problem], OrderDraft | None]:
    v = row.values
    bad: list[Problem] = []

    def need(col: str, ok: bool, why: str) -> None:
        if not ok:
            bad.append(Problem(row.number, col, why))

    need("account", v.get("account", "") in accounts, f"unknown account {v.get('account', '')!r}")
    need("symbol", v.get("symbol", "") in symbols, f"unknown symbol {v.get('symbol', '')!r}")
    side = v.get("side", "").lower()
    need("side", side in SIDES, f"side must be one of {', '.join(SIDES)}")
    qty = Decimal(0)
    try:
        qty = parse.positive(v.get("quantity", ""), parse.QUANTITY)
    except parse.ParseError as exc:
        bad.append(Problem(row.number, "quantity", str(exc)))
    otype = v.get("order_type", "").lower()
    need("order_type", otype in ORDER_TYPES, f"order_type must be one of {', '.join(ORDER_TYPES)}")
    limit = None
    text = v.get("limit_price", "")
    if otype == "limit":
        try:
            limit = parse.positive(text, parse.PRICE)
        except parse.ParseError as exc:
            bad.append(Problem(row.number, "limit_price", f"a limit order needs a positive price: {exc}"))
    elif text:
        bad.append(Problem(row.number, "limit_price", "only a limit order has a limit price"))
    tif = v.get("time_in_force", "").lower() or "day"
    need("time_in_force", tif in TIME_IN_FORCE, f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}")
    broker = v.get("broker", "")
    need("broker", 0 < len(broker) <= 64, "name the FIX session's TargetCompID (1-64 characters)")
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
    )
    return bad, draft
