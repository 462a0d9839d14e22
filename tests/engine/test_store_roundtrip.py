"""The store keeps exactly what it is given, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.store.accounts import Account, Household, Model, ModelComponent
from engine.store.market import FxRate, PriceBar
from engine.store.people import AuditEntry
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Exchange, Security


def _security(**kw: object) -> Security:
    base = dict(
        symbol="VOD.L",
        name="Vodafone Group plc",
        asset_class="equity",
        currency="GBP",
        mic="XLON",
        country="GB",
        sector="Communication Services",
        issuer="Vodafone Group plc",
        isin="GB00BH4HKS39",
        sedol="BH4HKS3",
        lot_size=1,
        price_multiplier=Decimal(1),
        esg_flags=["tobacco"],
        restricted_client_types=[],
        restricted_domiciles=[],
    )
    base.update(kw)
    return Security(**base)


def test_round_trip_keeps_decimals_times_and_lists(database) -> None:
    at = datetime(2026, 3, 8, 14, 30, tzinfo=timezone(timedelta(hours=-5)))
    with database.transaction() as s:
        sec = _security()
        s.add(sec)
        hh = Household(code="H1", name="Okafor Household")
        model = Model(code="M1", name="Test model")
        s.add_all([hh, model])
        s.flush()
        s.add(ModelComponent(model_id=model.id, security_id=sec.id, weight=Decimal("0.1234567891")))
        acct = Account(
            code="A1",
            name="Okafor Individual",
            household_id=hh.id,
            base_currency="USD",
            custodian="SIM-CUSTODIAN-A",
            tax_status="taxable",
            tax_jurisdiction="US",
            model_id=model.id,
            client_type="retail",
            domicile="onshore",
            kyc_status="approved",
            kyc_review_date=date(2027, 1, 31),
            risk_rating="medium",
            cash_target=Decimal("0.02"),
            cash_floor=Decimal("0.01"),
            drift_band=Decimal("0.03"),
            lot_relief="hifo",
            excluded_sectors=["Energy"],
            esg_exclusions=["tobacco", "weapons"],
        )
        s.add(acct)
        s.flush()
        s.add(
            TaxLot(
                account_id=acct.id,
                security_id=sec.id,
                lot_ref="L1",
                quantity=Decimal("12345678.123456"),
                unit_cost=Decimal("0.723456"),
                acquired=date(2022, 2, 28),
                fx_rate=Decimal("1.2345678912"),
            )
        )
        s.add(
            CashBalance(
                account_id=acct.id,
                currency="GBP",
                settled=Decimal("98765432109.1234"),
                unsettled=Decimal("-0.01"),
            )
        )
        s.add(
            PriceBar(
                security_id=sec.id,
                date=date(2026, 10, 30),
                close=Decimal("0.7215"),
                volume=123456789012,
                source="test",
            )
        )
        s.add(
            FxRate(
                base="EUR",
                quote="JPY",
                date=date(2026, 10, 30),
                rate=Decimal("162.8500000001"),
                source="test",
            )
        )
        s.add(
            AuditEntry(
                at=at,
                username="ada",
                action="test",
                entity="account",
                entity_id="A1",
                before=None,
                after={"k": [1, "x"]},
                reason="round trip",
            )
        )
    with database.session() as s:
        lot = s.scalars(select(TaxLot)).one()
        assert lot.quantity == Decimal("12345678.123456")
        assert lot.unit_cost == Decimal("0.723456")
        assert lot.fx_rate == Decimal("1.2345678912")
        assert lot.acquired == date(2022, 2, 28)
        cash = s.scalars(select(CashBalance)).one()
        assert cash.settled == Decimal("98765432109.1234") and cash.unsettled == Decimal("-0.0100")
        assert s.scalars(select(ModelComponent)).one().weight == Decimal("0.1234567891")
        assert s.scalars(select(FxRate)).one().rate == Decimal("162.8500000001")
        bar = s.scalars(select(PriceBar)).one()
        assert bar.close == Decimal("0.7215") and bar.volume == 123456789012
        sec = s.scalars(select(Security)).one()
        assert sec.esg_flags == ["tobacco"] and sec.exchange.timezone == "Europe/London"
        acct = s.scalars(select(Account)).one()
        assert acct.esg_exclusions == ["tobacco", "weapons"] and acct.model.code == "M1"
        entry = s.scalars(select(AuditEntry)).one()
        assert entry.at == at and entry.at.tzinfo is not None and entry.at.utcoffset() == timedelta(0)
        assert entry.after == {"k": [1, "x"]}


def test_naive_datetimes_are_refused(database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.transaction() as s:
        s.add(AuditEntry(at=datetime(2026, 1, 1, 9, 30), username="u", action="a", entity="e"))
    with database.session() as s:
        assert s.scalars(select(AuditEntry)).all() == []


def test_reference_data_is_seeded_with_dated_settlement_cycles(database) -> None:
    with database.session() as s:
        xlon = s.get(Exchange, "XLON")
        assert xlon is not None and xlon.calendar == "XLON"
        cycles = [(c.effective_from, c.days) for c in xlon.cycles]
        assert cycles == [(date(2014, 10, 6), 2), (date(2027, 10, 11), 1)]
        xnys = s.get(Exchange, "XNYS")
        assert xnys is not None and [(c.effective_from, c.days) for c in xnys.cycles][-1] == (
            date(2024, 5, 28),
            1,
        )


def test_check_constraint_needs_exactly_one_target(database) -> None:
    with database.transaction() as s:
        s.add(Model(code="M", name="m"))
    with pytest.raises(Exception), database.transaction() as s:  # noqa: B017 - driver-specific IntegrityError
        model = s.scalars(select(Model)).one()
        s.add(ModelComponent(model_id=model.id, security_id=None, sub_model_id=None, weight=Decimal(1)))
    assert datetime.now(UTC)  # the failed transaction left the session usable
    with database.session() as s:
        assert s.scalars(select(ModelComponent)).all() == []
