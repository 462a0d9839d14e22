"""Stale prices and FX: a close older than its market's last session (allowing the asset class's
lag, in sessions of the security's own exchange calendar), or an FX fixing older than the policy's
days, is stale. Nothing is valued, drifted or solved on a stale number without saying so.

The expected date of a price read at an instant is the last session of its exchange that had
closed by then (exchange_calendars: a Friday close read on Monday morning is fresh, a holiday is
no session), moved back by the policy's allowed sessions; read on a date, every session on or
before that date counts as closed (end of day). FX: the read date less the allowed days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from engine.markets.calendars import calendar
from engine.pricing.tables import StalePolicy
from engine.store.market import FxRate, PriceBar
from engine.store.reference import Exchange, Security

SESSIONS, DAYS = "sessions", "days"
RECENT_DAYS = 366  # fixings read first when looking for the last one
FX = "fx"


@dataclass(frozen=True)
class Rule:
    """How far a price may lag: `allowed` sessions of its market, or `allowed` calendar days (FX)."""

    rule: str
    allowed: int

    def describe(self) -> str:
        return f"{self.allowed} {'session(s)' if self.rule == SESSIONS else 'day(s)'}"


# The defaults the migration seeds; an asset class without a row gets the strictest rule.
DEFAULT_POLICY: dict[str, Rule] = {
    "equity": Rule(SESSIONS, 0),
    "etf": Rule(SESSIONS, 0),
    "adr": Rule(SESSIONS, 0),
    "fixed_income": Rule(SESSIONS, 2),
    FX: Rule(DAYS, 5),
}
STRICTEST = Rule(SESSIONS, 0)


@dataclass(frozen=True)
class Policy:
    """The staleness rule per asset class, and for FX."""

    rules: dict[str, Rule]

    def for_class(self, asset_class: str) -> Rule:
        return self.rules.get(asset_class, STRICTEST)

    @property
    def fx(self) -> Rule:
        return self.rules.get(FX, DEFAULT_POLICY[FX])


def load_policy(session: Session) -> Policy:
    """The stored policy (table stale_policies), the documented defaults for classes without a row."""
    rules = dict(DEFAULT_POLICY)
    for p in session.scalars(select(StalePolicy)):
        if p.rule not in (SESSIONS, DAYS) or p.allowed < 0:
            raise ValueError(
                f"stale_policies: {p.asset_class}: rule {p.rule!r}, allowed {p.allowed} is not valid"
            )
        rules[p.asset_class] = Rule(p.rule, int(p.allowed))
    return Policy(rules)


@dataclass(frozen=True)
class StaleItem:
    """One stale price (kind 'price': a security) or FX rate (kind 'fx': a currency against the pivot)."""

    kind: str
    name: str  # the security's symbol, or the currency
    security_id: int | None
    asset_class: str  # "fx" for a rate
    market: str | None  # the exchange calendar the price is judged on (None for FX)
    last: date | None  # None: no price (rate) at all
    expected: date
    rule: str

    def reason(self) -> str:
        """`stale price for X (last 2026-11-27, expected 2026-12-04)` (FX: `stale FX rate for JPY ...`)."""
        what = "price for" if self.kind == "price" else "FX rate for"
        return f"stale {what} {self.name} (last {self.last or 'none'}, expected {self.expected})"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "asset_class": self.asset_class,
            "market": self.market,
            "last": self.last.isoformat() if self.last else None,
            "expected": self.expected.isoformat(),
            "rule": self.rule,
            "reason": self.reason(),
        }


def expected_session(calendar_name: str, at: date | datetime, lag: int = 0) -> date:
    """The oldest session whose close is still fresh at `at`: the last session closed by then
    (a date: every session on or before it), less `lag` sessions of that calendar."""
    cal = calendar(calendar_name)
    if isinstance(at, datetime):
        ts = pd.Timestamp(at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC))
        day = ts.tz_convert(cal.tz).date()
        s = cal.date_to_session(pd.Timestamp(day), direction="previous")
        if cal.session_close(s) > ts:
            s = cal.previous_session(s)
    else:
        s = cal.date_to_session(pd.Timestamp(at), direction="previous")
    if lag:
        s = cal.session_offset(s, -lag)
    return s.date()


def _day(at: date | datetime) -> date:
    return (
        at.astimezone(UTC).date()
        if isinstance(at, datetime) and at.tzinfo
        else (at.date() if isinstance(at, datetime) else at)
    )


def stale_prices(prices: pd.DataFrame, policy: Policy, at: date | datetime) -> dict[int, StaleItem]:
    """Stale ones among `prices` (security_id, symbol, asset_class, calendar, last: date or None),
    by security id. The expected date is computed once per (calendar, rule)."""
    out: dict[int, StaleItem] = {}
    expected: dict[tuple[str, int], date] = {}
    for sid, sym, cls, cal, last in prices[
        ["security_id", "symbol", "asset_class", "calendar", "last"]
    ].itertuples(index=False):
        r = policy.for_class(cls)
        if r.rule == SESSIONS:
            key = (cal, r.allowed)
            if key not in expected:
                expected[key] = expected_session(cal, at, r.allowed)
            exp = expected[key]
        else:
            exp = _day(at) - timedelta(days=r.allowed)
        last_d = None if last is None or pd.isna(last) else pd.Timestamp(last).date()
        if last_d is None or last_d < exp:
            out[int(sid)] = StaleItem("price", str(sym), int(sid), str(cls), str(cal), last_d, exp,
                                      f"{cls}: {r.describe()} of {cal}")  # fmt: skip
    return out


def stale_fx(
    last_by_ccy: dict[str, date | None], policy: Policy, at: date | datetime
) -> dict[str, StaleItem]:
    """Stale currencies: the last fixing naming the currency is older than the policy's days."""
    r = policy.fx
    exp = _day(at) - timedelta(days=r.allowed) if r.rule == DAYS else _day(at)
    return {
        c: StaleItem("fx", c, None, FX, None, d, exp, f"fx: {r.describe()}")
        for c, d in sorted(last_by_ccy.items())
        if d is None or d < exp
    }


def price_frame(session: Session, as_of: date, security_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """security_id, symbol, asset_class, calendar and last close date (on or before `as_of`)."""
    last = (
        select(PriceBar.security_id, func.max(PriceBar.date).label("last"))
        .where(PriceBar.date <= as_of)
        .group_by(PriceBar.security_id)
        .subquery()
    )
    q = (
        select(Security.id, Security.symbol, Security.asset_class, Exchange.calendar, last.c.last)
        .join(Exchange, Exchange.mic == Security.mic)
        .outerjoin(last, last.c.security_id == Security.id)
    )
    if security_ids is not None:
        q = q.where(Security.id.in_(list(security_ids)))
    return pd.DataFrame(
        session.execute(q).all(), columns=["security_id", "symbol", "asset_class", "calendar", "last"]
    )


def fx_last_dates(session: Session, as_of: date, currencies: Iterable[str]) -> dict[str, date | None]:
    """The last date (on or before `as_of`) any stored fixing names each currency.

    The recent year is read first (a full history is decades of rows); only a currency without a
    fixing in it is looked up over the whole table."""
    wanted = sorted(set(currencies))

    def last(since: date | None, ccys: list[str]) -> dict[str, date]:
        def leg(col: Any) -> Any:
            q = select(col.label("ccy"), FxRate.date).where(FxRate.date <= as_of, col.in_(ccys))
            return q.where(FxRate.date >= since) if since is not None else q

        legs = union_all(leg(FxRate.base), leg(FxRate.quote)).subquery()
        return dict(session.execute(select(legs.c.ccy, func.max(legs.c.date)).group_by(legs.c.ccy)).all())

    found = last(as_of - timedelta(days=RECENT_DAYS), wanted) if wanted else {}
    rest = [c for c in wanted if c not in found]
    if rest:
        found.update(last(None, rest))
    return {c: found.get(c) for c in wanted}
