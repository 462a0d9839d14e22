"""Reference data: exchanges, their settlement cycles, and securities."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.base import Base, Rate


class Exchange(Base):
    """A market, keyed by ISO 10383 MIC, with its zone and exchange_calendars calendar."""

    __tablename__ = "exchanges"

    mic: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(16), doc="exchange_calendars name, e.g. XNYS")
    currency: Mapped[str] = mapped_column(String(3))

    cycles: Mapped[list[SettlementCycle]] = relationship(
        back_populates="exchange", order_by="SettlementCycle.effective_from"
    )


class SettlementCycle(Base):
    """T+n business days in force at an exchange from a date (cycles change: UK/EU T+1 in 2027)."""

    __tablename__ = "settlement_cycles"
    __table_args__ = (UniqueConstraint("mic", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mic: Mapped[str] = mapped_column(ForeignKey("exchanges.mic"))
    effective_from: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)

    exchange: Mapped[Exchange] = relationship(back_populates="cycles")


class Security(Base):
    """A tradable instrument. `symbol` is the book's own unique key (e.g. VOD.L, AAPL)."""

    __tablename__ = "securities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    asset_class: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    mic: Mapped[str] = mapped_column(ForeignKey("exchanges.mic"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    sector: Mapped[str] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(200))
    isin: Mapped[str | None] = mapped_column(String(12), unique=True)
    cusip: Mapped[str | None] = mapped_column(String(9), unique=True)
    sedol: Mapped[str | None] = mapped_column(String(7), unique=True)
    local_ticker: Mapped[str | None] = mapped_column(String(24))
    lot_size: Mapped[int] = mapped_column(Integer, default=1)
    price_multiplier: Mapped[Decimal] = mapped_column(Rate(), default=Decimal(1))
    esg_score: Mapped[Decimal | None] = mapped_column(Rate())
    esg_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    adr_ordinary_id: Mapped[int | None] = mapped_column(ForeignKey("securities.id"))
    adr_ratio: Mapped[Decimal | None] = mapped_column(Rate(), doc="ordinary shares per ADR")
    adr_sponsored: Mapped[bool | None] = mapped_column(Boolean)
    restricted_client_types: Mapped[list[str]] = mapped_column(
        JSON, default=list, doc="client types allowed to hold it; empty means everyone"
    )
    restricted_domiciles: Mapped[list[str]] = mapped_column(
        JSON, default=list, doc="domiciles allowed to hold it; empty means everyone"
    )
    coupon: Mapped[Decimal | None] = mapped_column(Rate(), doc="bonds: annual coupon rate")
    maturity: Mapped[date | None] = mapped_column(Date, doc="bonds: maturity date")

    exchange: Mapped[Exchange] = relationship()
    adr_ordinary: Mapped[Security | None] = relationship(remote_side=[id])
