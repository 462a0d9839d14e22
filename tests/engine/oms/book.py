"""A tiny book for OMS tests: three accounts and three securities on three markets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounting.tables import CashMovement
from engine.clock import SystemClock
from engine.compliance.killswitch import KillSwitchGate
from engine.events import EventBus
from engine.model.trades import TradeFill
from engine.oms.messages import Outbound
from engine.oms.recheck import RecheckVerdict, loosened
from engine.oms.service import OrderManager
from engine.ports import CheckOutcome, OrderIntent
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.reference import Security

ACCOUNTS = ("ACC1", "ACC2", "ACC3")
SECURITIES = (("AAPL", "XNAS", "USD", 1), ("VOD.L", "XLON", "GBP", 1), ("7203.T", "XTKS", "JPY", 100))


def make_book(database: Database) -> None:
    with database.transaction() as s:
        h = Household(code="H1", name="Test household")
        s.add(h)
        s.flush()
        for code in ACCOUNTS:
            s.add(
                Account(
                    code=code,
                    name=f"Account {code}",
                    household_id=h.id,
                    base_currency="USD",
                    custodian="TEST",
                    tax_status="taxable",
                    tax_jurisdiction="US",
                    client_type="retail",
                    domicile="onshore",
                    kyc_status="approved",
                    risk_rating="medium",
                    cash_target=Decimal("0.02"),
                    cash_floor=Decimal("0.01"),
                    drift_band=Decimal("0.05"),
                    lot_relief="fifo",
                )
            )
        for sym, mic, ccy, lot in SECURITIES:
            s.add(
                Security(
                    symbol=sym,
                    name=sym,
                    asset_class="equity",
                    currency=ccy,
                    mic=mic,
                    country="US",
                    sector="Information Technology",
                    issuer=sym,
                    lot_size=lot,
                )
            )


class PassAll:
    """Compliance test double: every order passes, except accounts listed in `flag`."""

    def __init__(self, flag: Sequence[str] = ()) -> None:
        self.flag = set(flag)

    def check(self, session: Session, orders: Sequence[OrderIntent], username: str) -> list[CheckOutcome]:
        return [
            CheckOutcome(
                o.ref,
                "flag" if o.account in self.flag else "pass",
                ("test flag",) if o.account in self.flag else (),
            )
            for o in orders
        ]


class FlagAll:
    """Compliance test double: every order is flagged (waits for approval)."""

    def check(self, session: Session, orders: Sequence[OrderIntent], username: str) -> list[CheckOutcome]:
        return [CheckOutcome(o.ref, "flag", ("test flag",)) for o in orders]


def allow_all(session: Session, username: str, permission: str) -> None:
    """Permission test double: everyone may do everything (the real gate: engine.access.guard)."""


class HoldLoosened:
    """Re-check test double: every loosened replace is held (none is re-checked)."""

    def __call__(
        self, session: Session, order_id: int, before: OrderIntent, after: OrderIntent, username: str
    ) -> RecheckVerdict:
        return RecheckVerdict(
            False, f"{after.account}: {loosened(before, after)}; no compliance re-check here"
        )


class Cases:
    """Approval-case test double: records the orders it opened cases for; every decision approves."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.decided: list[tuple[int, str]] = []

    def open(self, session: Session, order_ids: Sequence[int], username: str) -> None:
        self.opened.extend(order_ids)

    def decide(self, session: Session, order_id: int, username: str, reason_code: str, comment: str) -> bool:
        self.decided.append((order_id, username))
        return True

    def approved(self, session: Session, order_ids: Sequence[int]) -> set[int]:
        return set()

    def settle(self, session: Session, order_id: int, username: str) -> None:
        pass


def make_oms(database: Database, **kw: object) -> OrderManager:
    """An OrderManager with every control passed explicitly: test doubles unless given in `kw`
    (checker PassAll, re-check HoldLoosened, booker RecordingBooker, allow_all, Cases) and the real
    kill switch."""
    controls: dict[str, object] = {
        "checker": PassAll(),
        "recheck": HoldLoosened(),
        "booker": RecordingBooker(),
        "authorize": allow_all,
        "kill_switch": KillSwitchGate(),
        "cases": Cases(),
        "clock": SystemClock(),
        "bus": EventBus(),
    }
    return OrderManager(database, **{**controls, **kw})  # type: ignore[arg-type]


class RecordingBooker:
    """Accounting test double: records what would be booked, idempotent on source_ref."""

    def __init__(self) -> None:
        self.fills: dict[str, TradeFill] = {}

    def book(self, session: Session, fill: TradeFill) -> None:
        self.fills.setdefault(fill.source_ref, fill)


class Gateway:
    """A logged-on broker session that keeps every message the OMS sends, for assertions."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def send(self, message: Outbound) -> None:
        self.sent.append(message)

    def is_logged_on(self, broker: str) -> bool:
        return True


def cash(database: Database, account: str) -> dict[tuple[str, date], Decimal]:
    """Cash movements of one account summed per (currency, settle date)."""
    with database.session() as s:
        rows = s.execute(
            select(CashMovement.currency, CashMovement.settle_date, func.sum(CashMovement.amount))
            .join(Account, Account.id == CashMovement.account_id)
            .where(Account.code == account)
            .group_by(CashMovement.currency, CashMovement.settle_date)
        ).all()
    return {(c, d): Decimal(str(a)) for c, d, a in rows}
