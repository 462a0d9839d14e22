"""What a small batch's pre-trade check must load of the book, so one order does not load them all.

Every rule template reads the book per account (an account's holdings, cash and value), except
those whose `reach` says otherwise: `household` (wash sale: replacement lots in any account of the
household) and `firm` (the whole book). Rules that look further (the daily notional per desk,
duplicates, restricted lists, realised losses) read their own rows from the database and need
from the book only the prices of the securities involved. So a batch of orders on at most
`SCOPED_MAX_ACCOUNTS` accounts loads:

- accounts: the orders' accounts, plus every account of their households if a rule in force
  reaches the household;
- securities: the orders' securities, everything those accounts hold, and the securities of the
  live orders entered since the earliest window a rule looks back on (today's orders for the
  daily notional limits);

and gets the same verdicts and numbers as a check against the full book. Larger batches (a
rebalance, an import) and rule sets with a firm-wide rule load the full book in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.compliance.rules import Rule
from engine.compliance.templates import DEAD_ORDER_STATES, TEMPLATES
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security

# Up to this many distinct accounts in a batch the check loads only what it needs; above it, the
# whole book (one pass over every lot is cheaper than id lists of thousands of accounts).
SCOPED_MAX_ACCOUNTS = 200
REACH_ORDER = ("account", "household", "firm")


@dataclass(frozen=True)
class BookScope:
    """The accounts and securities a batch's check loads (engine.compliance.book.load_book)."""

    account_codes: list[str]
    security_ids: list[int]
    order_security_ids: list[int]  # the only securities whose average daily volume a rule reads


def rules_reach(rules: Sequence[Rule]) -> str:
    """The widest reach of the rules: an unknown template counts as firm-wide (its error is raised
    when the rule is evaluated, as with the full book)."""
    widest = 0
    for r in rules:
        t = TEMPLATES.get(r.template)
        widest = max(widest, REACH_ORDER.index(t.reach) if t is not None else len(REACH_ORDER) - 1)
    return REACH_ORDER[widest]


def _look_back(rules: Sequence[Rule], now: datetime) -> datetime:
    """The earliest order time any rule reads live orders from: midnight UTC (daily notionals) or
    `window_seconds` before now (duplicates), whichever is earlier."""
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for r in rules:
        window = r.params.get("window_seconds") if r.template == "duplicate_order" else None
        if window is not None:
            since = min(since, now - timedelta(seconds=float(window)))
    return since


def book_scope(
    session: Session, intents: Sequence[OrderIntent], rules: Sequence[Rule], now: datetime
) -> BookScope | None:
    """What the check of `intents` under `rules` must load; None: the full book."""
    codes = {o.account for o in intents}
    reach = rules_reach(rules)
    if len(codes) > SCOPED_MAX_ACCOUNTS or reach == "firm":
        return None
    accounts = session.execute(
        select(Account.id, Account.code, Account.household_id).where(Account.code.in_(sorted(codes)))
    ).all()
    if reach == "household" and accounts:
        households = sorted({int(h) for _i, _c, h in accounts})
        accounts = session.execute(
            select(Account.id, Account.code, Account.household_id).where(Account.household_id.in_(households))
        ).all()
    ids = sorted({int(i) for i, _c, _h in accounts})
    symbols = sorted({o.symbol for o in intents})
    order_sec_ids = sorted(
        int(i) for i in session.scalars(select(Security.id).where(Security.symbol.in_(symbols)))
    )
    sec_ids = set(order_sec_ids)
    if ids:
        sec_ids.update(
            session.scalars(select(TaxLot.security_id).where(TaxLot.account_id.in_(ids)).distinct())
        )
    sec_ids.update(
        session.scalars(
            select(Order.security_id)
            .where(Order.created_at >= _look_back(rules, now), Order.status.not_in(DEAD_ORDER_STATES))
            .distinct()
        )
    )
    return BookScope(
        sorted({str(c) for _i, c, _h in accounts} | codes), sorted(int(s) for s in sec_ids), order_sec_ids
    )
