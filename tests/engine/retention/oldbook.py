"""A minibook (tests/engine/compliance/minibook.py) with eleven years of history: records from 2015
that have expired, and open ones of the same age that a purge must keep.

Audit entries, in id order: OLD_FIRST old ones (2015), one about the live GTC order (2015; the
purge's audit prefix stops before it), one more old one, then recent ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from engine.audit.chain import record
from engine.compliance.tables import ApprovalCase, ApprovalDecision, CheckResult
from engine.oms.tables import Execution, Order, OrderEvent
from engine.rebalance.tables import Proposal
from engine.reconcile.tables import Break, BreakComment
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security
from tests.engine.compliance.minibook import build_minibook

OLD = datetime(2015, 3, 2, 10, 0, tzinfo=UTC)
RECENT = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)
BEFORE = date(2020, 1, 1)
OLD_FIRST = 5


@dataclass(frozen=True)
class Ids:
    old_filled: int
    old_live_gtc: int
    recent_filled: int
    old_block: int
    old_child: int
    kept_child: int
    old_closed_case: int
    old_open_case: int
    old_resolved_break: int
    old_open_break: int
    old_rejected_proposal: int
    old_open_proposal: int
    live_entry: int


def _order(s, account: int, security: int, n: int, status: str, at: datetime, **kw: object) -> Order:  # type: ignore[no-untyped-def]
    o = Order(
        cl_ord_id=f"T{n}", account_id=account, security_id=security, side="buy", quantity=Decimal(10),
        order_type="market", time_in_force=kw.pop("tif", "day"), currency="USD", status=status,
        created_at=at, updated_at=at, created_by="tr1", **kw,
    )  # fmt: skip
    s.add(o)
    s.flush()
    return o


def build_oldbook(database: Database) -> Ids:
    build_minibook(database)
    with database.transaction() as s:
        u1 = s.scalar(select(Account.id).where(Account.code == "U1"))
        g1 = s.scalar(select(Account.id).where(Account.code == "G1"))
        aaa = s.scalar(select(Security.id).where(Security.symbol == "AAA"))
        filled = _order(s, u1, aaa, 1, "filled", OLD)
        s.add(Execution(order_id=filled.id, broker="SIM", exec_id="E1", exec_type="F", ord_status="2",
                        last_qty=Decimal(10), last_px=Decimal(100), transact_time=OLD, received_at=OLD))  # fmt: skip
        s.add(
            OrderEvent(
                order_id=filled.id, at=OLD, kind="fill", status_from="new", status_to="filled", username="oms"
            )
        )
        gtc = _order(s, u1, aaa, 2, "new", OLD, tif="gtc")
        recent = _order(s, u1, aaa, 3, "filled", RECENT)
        block = _order(s, None, aaa, 4, "filled", OLD)  # type: ignore[arg-type]
        child = _order(s, u1, aaa, 5, "filled", OLD, parent_id=block.id)
        old_block2 = _order(s, None, aaa, 6, "filled", OLD)  # type: ignore[arg-type]
        kept_child = _order(s, g1, aaa, 7, "filled", RECENT, parent_id=old_block2.id)
        closed = ApprovalCase(entity="order", entity_id=str(filled.id), state="released", created_by="tr1",
                              opened_at=OLD, updated_at=OLD)  # fmt: skip
        open_case = ApprovalCase(entity="order", entity_id=str(gtc.id), state="pending_approval",
                                 created_by="tr1", opened_at=OLD, updated_at=OLD)  # fmt: skip
        s.add_all([closed, open_case])
        s.flush()
        s.add(
            ApprovalDecision(
                approval_id=closed.id, username="co1", decision="approve", reason_code="other", at=OLD
            )
        )
        s.add(CheckResult(run_id="r1", entity="order", entity_id=str(filled.id), account_code="U1", symbol="AAA",
                          side="buy", quantity=Decimal(10), rule_code="X", rule_version=1, outcome="pass",
                          message="ok", checked_by="tr1", checked_at=OLD))  # fmt: skip
        resolved = Break(key="k1", as_of=OLD.date(), custodian="C", account_code="U1", break_type="quantity",
                         status="resolved", opened_on=OLD.date(), last_seen=OLD.date(), resolved_at=OLD)  # fmt: skip
        open_break = Break(key="k2", as_of=OLD.date(), custodian="C", account_code="U1", break_type="quantity",
                           status="open", opened_on=OLD.date(), last_seen=OLD.date())  # fmt: skip
        s.add_all([resolved, open_break])
        s.flush()
        s.add(BreakComment(break_id=resolved.id, author="co1", at=OLD, text="custodian late"))
        rejected = Proposal(batch_id="b1", account_id=u1, mode="model", status="rejected", created_by="pm1",
                            created_at=OLD, updated_at=OLD, payload={})  # fmt: skip
        accepted = Proposal(batch_id="b1", account_id=g1, mode="model", status="accepted", created_by="pm1",
                            created_at=OLD, updated_at=OLD, payload={})  # fmt: skip
        s.add_all([rejected, accepted])
        s.flush()
        for i in range(OLD_FIRST):
            record(s, "co1", "test.old", "thing", i, after={"account": "U1"}, at=OLD + timedelta(minutes=i))
        live = record(
            s, "tr1", "order.state", "order", gtc.id, after={"status": "new"}, at=OLD + timedelta(hours=1)
        )
        record(s, "co1", "test.old", "thing", 99, at=OLD + timedelta(hours=2))
        record(s, "co1", "test.recent", "account", u1, at=RECENT)
        return Ids(
            filled.id, gtc.id, recent.id, block.id, child.id, kept_child.id, closed.id, open_case.id,
            resolved.id, open_break.id, rejected.id, accepted.id, live.id,
        )  # fmt: skip
