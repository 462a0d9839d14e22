"""Declarative base and column types shared by every table.

Money rules: quantities, prices and amounts are `Decimal` (SQL NUMERIC). On SQLite, NUMERIC is
held as a double, which is exact to 15 significant digits; the scales below keep every column
inside that (a quantity to 1e8 with 6 decimals, an amount to 1e11 with 4). PostgreSQL is exact.
Times are timezone-aware UTC; a naive datetime is refused rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import DateTime, MetaData, Numeric, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM table; one MetaData with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


def Quantity() -> Numeric[Decimal]:
    """Share and unit counts: up to 1e8 with 6 decimals."""
    return Numeric(20, 6, asdecimal=True)


def Price() -> Numeric[Decimal]:
    """Unit prices and costs in the security's currency."""
    return Numeric(20, 6, asdecimal=True)


def Amount() -> Numeric[Decimal]:
    """Cash amounts in a named currency."""
    return Numeric(20, 4, asdecimal=True)


def Rate() -> Numeric[Decimal]:
    """FX rates, weights and ratios."""
    return Numeric(24, 10, asdecimal=True)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC. Naive values are an error."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store times with a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[Base]) -> Table:
    """An ORM class's table, typed as the Table it is (SQLAlchemy types `__table__` as FromClause)."""
    return cast(Table, model.__table__)
