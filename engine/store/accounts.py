"""Clients and mandates: households, accounts with their restrictions, and model portfolios."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.base import Base, Rate


class Household(Base):
    """A family or entity whose accounts share tax consequences (wash sales span them)."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    accounts: Mapped[list[Account]] = relationship(back_populates="household")


class Model(Base):
    """A model portfolio: target weights by security, or by sub-model (model of models)."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    components: Mapped[list[ModelComponent]] = relationship(
        back_populates="model", foreign_keys="ModelComponent.model_id", cascade="all, delete-orphan"
    )


class ModelComponent(Base):
    """One target weight (a fraction of 1) on a security or on a sub-model."""

    __tablename__ = "model_components"
    __table_args__ = (
        UniqueConstraint("model_id", "security_id"),
        UniqueConstraint("model_id", "sub_model_id"),
        CheckConstraint("(security_id IS NULL) <> (sub_model_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    security_id: Mapped[int | None] = mapped_column(ForeignKey("securities.id"))
    sub_model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    weight: Mapped[Decimal] = mapped_column(Rate())

    model: Mapped[Model] = relationship(back_populates="components", foreign_keys=[model_id])


class Account(Base):
    """A separately managed account: one client mandate in one base currency."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    custodian: Mapped[str] = mapped_column(String(64))
    tax_status: Mapped[str] = mapped_column(String(16))
    tax_jurisdiction: Mapped[str] = mapped_column(String(2), doc="ISO 3166 country of tax rules")
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), index=True)
    client_type: Mapped[str] = mapped_column(String(16))
    domicile: Mapped[str] = mapped_column(String(16))
    kyc_status: Mapped[str] = mapped_column(String(16))
    kyc_review_date: Mapped[date | None] = mapped_column(Date, doc="next review due")
    risk_rating: Mapped[str] = mapped_column(String(8))
    cash_target: Mapped[Decimal] = mapped_column(Rate(), doc="fraction of value held as cash")
    cash_floor: Mapped[Decimal] = mapped_column(Rate(), doc="minimum cash fraction")
    drift_band: Mapped[Decimal] = mapped_column(Rate(), doc="absolute weight drift that triggers")
    lot_relief: Mapped[str] = mapped_column(String(16))
    keep_legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    excluded_sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    esg_exclusions: Mapped[list[str]] = mapped_column(JSON, default=list, doc="EsgFlag values")
    min_esg_score: Mapped[Decimal | None] = mapped_column(Rate())

    household: Mapped[Household] = relationship(back_populates="accounts")
    model: Mapped[Model | None] = relationship()
    exclusions: Mapped[list[AccountExclusion]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )


class AccountExclusion(Base):
    """A security the account may not hold (client restriction)."""

    __tablename__ = "account_exclusions"
    __table_args__ = (UniqueConstraint("account_id", "security_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"))

    account: Mapped[Account] = relationship(back_populates="exclusions")
