"""Process entry points for the shared-desk tests: each runs as its own workstation process."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def approver(url: str, user: str, cases: list[int], forced: list[bool], barrier: Any, out: Any) -> None:
    """Approve each case at the same moment as the other approver (forced: both read it first)."""
    from engine.compliance import approvals
    from engine.compliance.tables import ApprovalCase
    from engine.errors import InvalidTransition
    from engine.shared.errors import ConcurrentChange
    from engine.store.database import Database

    db = Database(url)
    for cid, force in zip(cases, forced):
        result = "won"
        try:
            if not force:
                barrier.wait(30)
            with db.transaction() as s:
                if force:
                    assert s.get(ApprovalCase, cid) is not None
                    barrier.wait(30)  # both desks have read the pending case
                approvals.decide(s, user, cid, "approve", "risk_accepted", f"by {user}")
        except ConcurrentChange as exc:
            result = f"conflict: {exc}"
        except InvalidTransition as exc:
            result = f"late: {exc}"
        except Exception as exc:  # reported, so the test fails with the reason
            result = f"error: {type(exc).__name__}: {exc}"
        out.put((cid, user, result))
    db.dispose()


class _Gateway:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: Any) -> None:
        self.sent.append(message.cl_ord_id)

    def is_logged_on(self, broker: str) -> bool:
        return True


def trader(url: str, action: str, orders: list[int], forced: list[bool], barrier: Any, out: Any) -> None:
    """Cancel (or replace: quantity -50) each order at the same moment as the other trader."""
    from engine.oms.errors import OrderRejected
    from engine.shared.errors import ConcurrentChange
    from engine.store.database import Database
    from tests.engine.oms.book import make_oms

    db = Database(url)
    gw = _Gateway()
    m = make_oms(db, gateway=gw, username=f"{action}-desk")
    read = m.ctx.order
    force_now = [False]

    def order_then_wait(s: Any, oid: int) -> Any:
        o = read(s, oid)
        if force_now[0]:
            barrier.wait(30)  # both desks have read the working order
        return o

    m.ctx.order = order_then_wait  # type: ignore[method-assign]
    for oid, force in zip(orders, forced):
        force_now[0] = force
        result = "won"
        before = len(gw.sent)
        try:
            if not force:
                barrier.wait(30)
            if action == "cancel":
                m.cancel(oid, username="tr-cancel")
            else:
                with db.session() as s:
                    q = read(s, oid).quantity
                m.replace(oid, quantity=q - Decimal(50), username="tr-replace")
        except ConcurrentChange as exc:
            result = f"conflict: {exc}"
        except OrderRejected as exc:
            result = f"late: {exc}"
        except Exception as exc:  # reported, so the test fails with the reason
            result = f"error: {type(exc).__name__}: {exc}"
        out.put((oid, action, result, gw.sent[before:]))
    db.dispose()


def approve_one(url: str, user: str, case_id: int, out: Any) -> None:
    """Another desk's reviewer approves one case; reports the wall time just after the commit."""
    import time

    from engine.compliance import approvals
    from engine.store.database import Database

    db = Database(url)
    with db.transaction() as s:
        approvals.decide(s, user, case_id, "approve", "risk_accepted", "seen it")
    out.put(time.time())
    db.dispose()
