"""Rule look-ups: holding-period months by jurisdiction, dividend withholding by country pair and date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import HoldingPeriodRule, WithholdingRate


def long_after_months(session: Session, jurisdiction: str) -> int | None:
    """Months after which a holding is long-term, or None where the jurisdiction has no rule."""
    rule = session.get(HoldingPeriodRule, jurisdiction)
    return None if rule is None else int(rule.long_after_months)


def withholding_rate(session: Session, source_country: str, residence: str, on: date) -> Decimal:
    """The rate in force on `on`: an exact (source, residence) row first, then (source, '*').

    A dividend from the holder's own country of residence is not withheld unless a row says so.
    With no row at all the rate is zero (and the source country is one the table does not cover).
    """
    for res in (residence, "*"):
        if res == "*" and source_country == residence:
            return Decimal(0)
        rate = session.scalars(
            select(WithholdingRate.rate)
            .where(
                WithholdingRate.source_country == source_country,
                WithholdingRate.residence == res,
                WithholdingRate.effective_from <= on,
            )
            .order_by(WithholdingRate.effective_from.desc())
            .limit(1)
        ).first()
        if rate is not None:
            return Decimal(rate)
    return Decimal(0)
