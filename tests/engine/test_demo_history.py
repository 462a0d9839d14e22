"""The SIMULATED demo history: a small book (20 accounts, one year) built once per backend.

The build goes through the custodian files, the corporate-action file and the day cycle; these
tests recompute what it booked from independent sources (the files' lines as stored, the lots
before and after each close, the daily values) and check the numbers, not that it ran.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

import resources
from engine.accounting.tables import Booking, CashMovement, CorporateAction, RealizedGain
from engine.activity.tables import ActivityLine
from engine.daycycle.cycle import close_day
from engine.daycycle.history import stored_history
from engine.daycycle.tables import AccountDailyValue, DayRun
from engine.demo.build import build_demo_book
from engine.demo.history import OPS_USER
from engine.reports.performance import performance_report
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from tests.conftest import _pg_admin, _pg_url_for, migrated, pg_url
from workstation.compose import inbox_kinds

TODAY = date(2026, 11, 22)
ACCOUNTS, YEARS, SEED = 20, 1, 7


@dataclass
class Built:
    database: Database
    lots: dict[date, pd.DataFrame] = field(default_factory=dict)
    cash: dict[date, pd.DataFrame] = field(default_factory=dict)

    def observe(self, day: date) -> None:
        with self.database.session() as s:
            self.lots[day] = pd.DataFrame(
                s.execute(select(TaxLot.account_id, TaxLot.security_id, TaxLot.lot_ref, TaxLot.quantity,
                                 TaxLot.unit_cost, TaxLot.acquired)).all(),
                columns=["account_id", "security_id", "lot_ref", "quantity", "unit_cost", "acquired"],
            )  # fmt: skip
            self.cash[day] = pd.DataFrame(
                s.execute(select(CashBalance.account_id, CashBalance.currency,
                                 CashBalance.settled + CashBalance.unsettled)).all(),
                columns=["account_id", "currency", "amount"],
            )  # fmt: skip


def _build(url: str) -> Built:
    database = migrated(url)
    built = Built(database)
    build_demo_book(database, resources.path("reference"), accounts=ACCOUNTS, seed=SEED, today=TODAY,
                    history_years=YEARS, inbox_kinds=inbox_kinds(), observe=built.observe)  # fmt: skip
    return built


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One history book per backend for the whole module (the build is the expensive part)."""
    if request.param == "sqlite":
        built = _build(f"sqlite:///{tmp_path_factory.mktemp('history') / 'book.db'}")
        yield built
        built.database.dispose()
        return
    base = pg_url()
    if not base:
        pytest.skip("WORKSTATION_TEST_PG_URL not set")
    name = f"ws_hist_{uuid.uuid4().hex[:12]}"
    with _pg_admin(base).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        built = _build(_pg_url_for(base, name))
        yield built
        built.database.dispose()
    finally:
        with _pg_admin(base).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _action(db: Database, prefix: str) -> CorporateAction:
    with db.session() as s:
        a = s.scalars(select(CorporateAction).where(CorporateAction.ref.like(f"{prefix}%"))).one()
        s.expunge(a)
        return a


def _before(built: Built, day: date) -> date:
    return max(d for d in built.lots if d < day)


def test_cash_is_the_opening_balance_plus_every_booked_movement(book: Built) -> None:
    db = book.database
    first = min(book.cash)
    with db.session() as s:
        moves = pd.DataFrame(
            s.execute(select(CashMovement.account_id, CashMovement.currency, CashMovement.amount,
                             CashMovement.kind, CashMovement.booking_id)).all(),
            columns=["account_id", "currency", "amount", "kind", "booking_id"],
        )  # fmt: skip
        now = pd.DataFrame(
            s.execute(select(CashBalance.account_id, CashBalance.currency,
                             CashBalance.settled + CashBalance.unsettled)).all(),
            columns=["account_id", "currency", "amount"],
        )  # fmt: skip
        lines = pd.DataFrame(
            s.execute(select(ActivityLine.account_id, ActivityLine.kind, ActivityLine.currency,
                             ActivityLine.amount, ActivityLine.counter_currency,
                             ActivityLine.counter_amount)).all(),
            columns=["account_id", "kind", "currency", "amount", "counter_currency", "counter_amount"],
        )  # fmt: skip
        trades = pd.DataFrame(
            s.execute(select(Booking.id, Booking.side, Booking.quantity, Booking.price, Security.price_multiplier)
                      .join(Security, Security.id == Booking.security_id)
                      .where(Booking.source_ref.like("SIMBRK-%"))).all(),
            columns=["id", "side", "quantity", "price", "mult"],
        )  # fmt: skip
    # Nothing was booked before the first close: the cash then is the opening balance.
    assert (moves["kind"] == "opening").sum() == 0
    opening = book.cash[first].set_index(["account_id", "currency"])["amount"]
    booked = moves.groupby(["account_id", "currency"])["amount"].sum()
    expected = opening.add(booked, fill_value=Decimal(0))
    got = now.set_index(["account_id", "currency"])["amount"]
    both = pd.concat([expected.rename("expected"), got.rename("got")], axis=1).fillna(Decimal(0))
    assert (both["expected"] == both["got"]).all(), both[both["expected"] != both["got"]]
    # The files' lines, as the custodians wrote them, are the flows, fees and FX legs booked.
    assert {"deposit", "withdrawal", "fee", "fx"} <= set(lines["kind"])
    sign = {"deposit": 1, "withdrawal": -1, "fee": -1}
    for kind, cash_kind in (("deposit", "flow"), ("withdrawal", "flow"), ("fee", "fee")):
        from_files = (lines[lines["kind"] == kind]["amount"].map(Decimal) * sign[kind]).sum()
        in_ledger = moves[(moves["kind"] == cash_kind) & (moves["amount"] * sign[kind] > 0)]["amount"].sum()
        assert from_files == in_ledger, kind
    fx = lines[lines["kind"] == "fx"]
    assert (
        moves[(moves["kind"] == "fx") & (moves["amount"] > 0)]["amount"].sum()
        == fx["amount"].map(Decimal).sum()
    )
    # Each rebalance fill moved quantity x price x multiplier of cash (no commission).
    assert len(trades) > 20
    by_booking = moves[moves["kind"] == "trade"].set_index("booking_id")["amount"]
    for t in trades.itertuples():
        gross = Decimal(t.quantity) * Decimal(t.price) * Decimal(t.mult)
        assert abs(by_booking[t.id] - (-gross if t.side == "buy" else gross)) <= Decimal("0.01"), t


def test_dividends_are_booked_net_of_withholding(book: Built) -> None:
    with book.database.session() as s:
        moves = pd.DataFrame(
            s.execute(select(CashMovement.account_id, CashMovement.kind, CashMovement.amount, CashMovement.booking_id)
                      .where(CashMovement.kind.in_(["dividend", "withholding"]))).all(),
            columns=["account_id", "kind", "amount", "booking_id"],
        )  # fmt: skip
    gross = moves[moves["kind"] == "dividend"]
    held = moves[moves["kind"] == "withholding"]
    assert len(gross) > 50 and len(held) > 0
    assert (gross["amount"] > 0).all() and (held["amount"] < 0).all()
    # Withholding never exceeds 35% (the highest statutory rate seeded, CH).
    per = gross.groupby("booking_id")["amount"].sum().to_frame("gross")
    per["withheld"] = held.groupby("booking_id")["amount"].sum().reindex(per.index).fillna(Decimal(0))
    assert ((-per["withheld"]) <= per["gross"] * Decimal("0.35") + Decimal("0.01")).all()


def test_the_split_doubled_every_earlier_lot_and_halved_its_cost(book: Built) -> None:
    a = _action(book.database, "SIMSPLIT-")
    assert a.status == "booked"
    before, after = book.lots[_before(book, a.ex_date)], book.lots[a.ex_date]
    old = before[before["security_id"] == a.security_id].set_index(["account_id", "lot_ref"])
    new = after[after["security_id"] == a.security_id].set_index(["account_id", "lot_ref"])
    assert len(old) > 0
    for key, lot in old.iterrows():
        assert new.loc[key, "quantity"] == lot["quantity"] * 2
        assert abs(new.loc[key, "unit_cost"] - lot["unit_cost"] / 2) <= Decimal("0.000001")
        assert new.loc[key, "acquired"] == lot["acquired"]


def test_the_merger_turned_target_lots_into_acquirer_shares_and_cash(book: Built) -> None:
    a = _action(book.database, "SIMMERGER-")
    assert a.status == "booked"
    ratio = Decimal(str(a.ratio_new)) / Decimal(str(a.ratio_old))
    before, after = book.lots[_before(book, a.ex_date)], book.lots[a.ex_date]
    old = before[before["security_id"] == a.security_id]
    assert len(old) > 0
    assert not (after["security_id"] == a.security_id).any()
    for aid, lots in old.groupby("account_id"):
        shares = (lots["quantity"].map(Decimal) * ratio).sum()
        whole = Decimal(int(shares))
        carried = after[(after["account_id"] == aid) & after["lot_ref"].isin(set(lots["lot_ref"]))]
        assert (carried["security_id"] == a.new_security_id).all()
        assert carried["quantity"].sum() == whole
        assert set(carried["acquired"]) <= set(lots["acquired"])
    with book.database.session() as s:
        cash = s.execute(select(func.sum(CashMovement.amount)).where(CashMovement.kind.in_(["merger", "in_lieu"]),
                                                                   CashMovement.trade_date == a.ex_date)).scalar()  # fmt: skip
        gains = s.scalar(select(func.count()).select_from(RealizedGain).where(RealizedGain.sold == a.ex_date,
                                                                              RealizedGain.security_id == a.security_id))  # fmt: skip
    assert cash is not None and cash > 0
    assert (gains or 0) >= len(old)  # the cash part is a disposal of every lot


def test_realized_gains_are_the_lots_the_rebalance_sold(book: Built) -> None:
    with book.database.session() as s:
        sells = s.execute(
            select(Booking.id, Booking.quantity, Booking.price, Security.price_multiplier)
            .join(Security, Security.id == Booking.security_id)
            .where(Booking.source_ref.like("SIMBRK-%"), Booking.side == "sell")
        ).all()
        gains = pd.DataFrame(
            s.execute(select(RealizedGain.booking_id, RealizedGain.quantity, RealizedGain.proceeds_local,
                             RealizedGain.cost_local, RealizedGain.gain_base)).all(),
            columns=["booking_id", "quantity", "proceeds", "cost", "gain"],
        )  # fmt: skip
    assert len(sells) > 5
    for bid, qty, price, mult in sells:
        mine = gains[gains["booking_id"] == bid]
        assert mine["quantity"].sum() == qty
        assert abs(
            mine["proceeds"].sum() - Decimal(qty or 0) * Decimal(price or 0) * Decimal(mult)
        ) <= Decimal("0.01") * len(mine)
    assert (gains["gain"] != 0).any()


def test_every_business_day_has_a_value_for_every_account(book: Built) -> None:
    with book.database.session() as s:
        per_day = dict(
            s.execute(select(AccountDailyValue.day, func.count()).group_by(AccountDailyValue.day)).all()
        )
        closed = set(s.scalars(select(DayRun.day).where(DayRun.status == "closed")))
        n = s.scalar(select(func.count()).select_from(Account))
    days = {d.date() for d in pd.bdate_range(min(per_day), max(per_day))}
    assert set(per_day) == days == closed
    assert set(per_day.values()) == {n}
    assert len(days) >= 250


def test_twr_from_stored_values_matches_an_independent_computation(book: Built) -> None:
    with book.database.session() as s:
        aid = s.scalar(select(AccountDailyValue.account_id).where(AccountDailyValue.flows != 0)
                       .order_by(AccountDailyValue.account_id).limit(1))  # fmt: skip
        rows = s.execute(select(AccountDailyValue.day, AccountDailyValue.value, AccountDailyValue.flows)
                         .where(AccountDailyValue.account_id == aid).order_by(AccountDailyValue.day)).all()  # fmt: skip
        start, end = rows[0][0], rows[-1][0]
        assert aid is not None
        report = performance_report(s, [aid], start, end, stored=stored_history)["rows"][0]
    growth = 1.0
    for (_, v0, _), (_, v1, f1) in itertools.pairwise(rows):
        r = (float(v1) - float(f1)) / float(v0)
        assert 0.85 < r < 1.15  # no day jumps: bulk days and real closes value alike
        growth *= r
    assert report["source"] == "daily_values"
    assert report["twr"] == pytest.approx(growth - 1.0, abs=1e-6)
    assert abs(growth - 1.0) > 1e-4


def test_closing_an_already_closed_day_again_books_nothing(book: Built, tmp_path: Path) -> None:
    db = book.database

    def counts() -> tuple[int, ...]:
        with db.session() as s:
            return tuple(s.scalar(select(func.count()).select_from(t)) or 0
                         for t in (Booking, CashMovement, RealizedGain, AccountDailyValue, ActivityLine))  # fmt: skip

    last = max(book.lots)
    before = counts()
    result = close_day(db, last, OPS_USER, inbox=tmp_path, kinds=inbox_kinds())
    assert result.note == "already closed" and result.status == "closed"
    assert counts() == before


def _fingerprint(db: Database) -> str:
    h = hashlib.sha256()
    with db.session() as s:
        for stmt in (
            select(TaxLot.lot_ref, TaxLot.quantity, TaxLot.unit_cost, TaxLot.acquired).order_by(TaxLot.id),
            select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
            .order_by(CashBalance.account_id, CashBalance.currency),
            select(CashMovement.kind, CashMovement.amount, CashMovement.trade_date).order_by(CashMovement.id),
            select(RealizedGain.lot_ref, RealizedGain.gain_base).order_by(RealizedGain.id),
            select(AccountDailyValue.day, AccountDailyValue.value).order_by(AccountDailyValue.day,
                                                                             AccountDailyValue.account_id),
        ):  # fmt: skip
            for row in s.execute(stmt):
                h.update(repr(tuple(row)).encode())
        meta = {m.key: m.value for m in s.scalars(select(BookMeta))}
    assert "SIMULATED" in meta["history"]
    return h.hexdigest()


def test_the_same_seed_builds_the_same_history(
    book: Built, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.name:
        pytest.skip("one rebuild (on SQLite) against the SQLite book is enough")
    again = migrated(f"sqlite:///{tmp_path / 'again.db'}")
    build_demo_book(again, resources.path("reference"), accounts=ACCOUNTS, seed=SEED, today=TODAY,
                    history_years=YEARS, inbox_kinds=inbox_kinds())  # fmt: skip
    try:
        assert _fingerprint(again) == _fingerprint(book.database)
    finally:
        again.dispose()


LINE_BY_LINE = {
    "bookings": (534, "a724f477434db70e"),
    "lots": (3446, "27fda46c38c8aa32"),
    "gains": (77, "8617dc9215f133f2"),
    "moves": (695, "3f5bcdc517ef68ed"),
    "cash": (69, "3ebec1b0178cabd8"),
    "values": (5240, "94ba59981c2771f2"),
}
"""Digests of this module's SQLite book as the line-by-line paths built it (before the fills,
dividends and settlement were booked set-wise: commit aff56e5, one LedgerBooker call per fill,
one post_cash per dividend movement, one settle per movement). The lots and gains digests were
taken again by that path once the cash-and-stock merger followed IRC 356 (gain recognised up to
the cash, branch ledgergaps): the set-wise path gives the same. The lots digest was re-derived in
session 8: fills booked one by one (`book_fills(bulk=False)`) on main, and the book as it stood before
trades away were booked set-wise (a7f8268^), give the same 3,446 lot rows as the set-wise build."""


def _ledger_digest(db: Database) -> dict[str, tuple[int, str]]:
    """Per table: rows and the first 16 hex digits of a SHA-256 over them (ids left out; the
    references that carry ids, lot refs B<booking id>, compared as they are)."""
    out = {}
    with db.session() as s:
        ref = dict(s.execute(select(Booking.id, Booking.source_ref)).all())
        queries = {
            "bookings": select(Booking.source_ref, Booking.kind, Booking.account_id, Booking.security_id,
                               Booking.side, Booking.quantity, Booking.price, Booking.currency, Booking.cash_amount,
                               Booking.trade_date, Booking.settle_date, Booking.lot_ref, Booking.replacement_used)
            .order_by(Booking.source_ref),
            "lots": select(TaxLot.account_id, TaxLot.security_id, TaxLot.lot_ref, TaxLot.quantity, TaxLot.unit_cost,
                           TaxLot.acquired, TaxLot.fx_rate).order_by(TaxLot.account_id, TaxLot.lot_ref),
            "gains": select(RealizedGain.booking_id, RealizedGain.account_id, RealizedGain.lot_ref,
                            RealizedGain.quantity, RealizedGain.acquired, RealizedGain.sold, RealizedGain.proceeds_base,
                            RealizedGain.cost_base, RealizedGain.gain_base, RealizedGain.price_gain_base,
                            RealizedGain.fx_gain_base, RealizedGain.term, RealizedGain.wash_disallowed_base,
                            RealizedGain.wash_unmatched_qty, RealizedGain.wash_note).order_by(RealizedGain.id),
            "moves": select(CashMovement.booking_id, CashMovement.account_id, CashMovement.currency,
                            CashMovement.amount, CashMovement.kind, CashMovement.trade_date, CashMovement.settle_date,
                            CashMovement.settled, CashMovement.note).order_by(CashMovement.id),
            "cash": select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
            .order_by(CashBalance.account_id, CashBalance.currency),
            "values": select(AccountDailyValue.account_id, AccountDailyValue.day, AccountDailyValue.market_value,
                             AccountDailyValue.cash, AccountDailyValue.value, AccountDailyValue.flows,
                             AccountDailyValue.income, AccountDailyValue.fees)
            .order_by(AccountDailyValue.day, AccountDailyValue.account_id),
        }  # fmt: skip
        for name, stmt in queries.items():
            h, n = hashlib.sha256(), 0
            for row in s.execute(stmt):
                t = tuple(row)
                if name in ("gains", "moves"):
                    t = (ref.get(t[0]), *t[1:])
                h.update(repr(t).encode())
                n += 1
            out[name] = (n, h.hexdigest()[:16])
    return out


def test_the_set_wise_history_books_what_the_line_by_line_one_booked(
    book: Built, request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.name:
        pytest.skip("the stored digests are of the SQLite book (numbers read back as SQLite stores them)")
    assert _ledger_digest(book.database) == LINE_BY_LINE
