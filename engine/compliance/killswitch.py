"""The kill switch: compliance or admin stop all routing for the firm, a desk, an account or a trader.

Engaging adds a row; releasing stamps it (never deletes). Both are audited. The OMS asks
`routing_allowed(session, account_code)` before it sends anything, and `trader_stop(session,
username)` before it creates or routes an order that trader entered (Order.created_by).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.compliance.tables import DeskAccount, KillSwitch
from engine.errors import NotFound, WorkstationError
from engine.store.accounts import Account
from engine.store.people import User

SCOPES = ("firm", "desk", "account", "trader")


def _active(session: Session) -> Any:
    return select(KillSwitch).where(KillSwitch.released_at.is_(None))


def desk_of(session: Session, account_code: str) -> str | None:
    return session.execute(
        select(DeskAccount.desk).where(DeskAccount.account_code == account_code)
    ).scalar_one_or_none()


def stopping(session: Session, account_code: str) -> KillSwitch | None:
    """The engaged switch that stops routing for this account, if any (firm first)."""
    desk = desk_of(session, account_code)
    conds = [
        KillSwitch.scope == "firm",
        (KillSwitch.scope == "account") & (KillSwitch.scope_key == account_code),
    ]
    if desk is not None:
        conds.append((KillSwitch.scope == "desk") & (KillSwitch.scope_key == desk))
    rows = session.scalars(_active(session).where(or_(*conds)).order_by(KillSwitch.id)).all()
    order = {"firm": 0, "desk": 1, "account": 2}
    return min(rows, key=lambda k: order[k.scope]) if rows else None


def trader_stop(session: Session, username: str) -> KillSwitch | None:
    """The engaged switch that stops orders entered by this trader, if any (the oldest)."""
    return session.scalars(
        _active(session)
        .where(KillSwitch.scope == "trader", KillSwitch.scope_key == username)
        .order_by(KillSwitch.id)
    ).first()


def routing_allowed(session: Session, account_code: str) -> bool:
    """False while a firm, desk (of this account) or account kill switch is engaged."""
    return stopping(session, account_code) is None


def describe(k: KillSwitch) -> str:
    where = "the whole firm" if k.scope == "firm" else f"{k.scope} {k.scope_key}"
    if k.scope == "trader":
        where = f"orders entered by trader {k.scope_key}"
    return f"routing stopped for {where} by {k.engaged_by} at {k.engaged_at:%Y-%m-%d %H:%M} UTC: {k.reason}"


def engage(session: Session, username: str, scope: str, key: str | None, reason: str) -> KillSwitch:
    """Stop routing for a scope now. Needs killswitch.use (compliance or admin) and a reason."""
    require(session, username, Permission.KILL_SWITCH)
    if scope not in SCOPES:
        raise WorkstationError(f"kill switch scope must be firm, desk, account or trader, not {scope!r}")
    if (scope == "firm") != (key is None):
        raise WorkstationError("a firm kill switch takes no key; desk, account and trader ones need one")
    if not reason.strip():
        raise WorkstationError("engaging a kill switch needs a reason")
    if scope == "account" and session.execute(select(Account.id).where(Account.code == key)).first() is None:
        raise NotFound(f"account {key!r} does not exist")
    if (
        scope == "desk"
        and session.execute(select(DeskAccount.desk).where(DeskAccount.desk == key)).first() is None
    ):
        raise NotFound(f"desk {key!r} has no accounts")
    if scope == "trader" and session.execute(select(User.id).where(User.username == key)).first() is None:
        raise NotFound(f"user {key!r} does not exist")
    k = KillSwitch(
        scope=scope, scope_key=key, engaged_by=username, engaged_at=datetime.now(UTC), reason=reason
    )
    session.add(k)
    session.flush()
    record(
        session,
        username,
        "killswitch.engage",
        "kill_switch",
        k.id,
        None,
        {"scope": scope, "key": key},
        reason,
    )
    return k


def release(session: Session, username: str, switch_id: int, reason: str) -> KillSwitch:
    """Lift an engaged switch (recorded; the row stays)."""
    require(session, username, Permission.KILL_SWITCH)
    k = session.get(KillSwitch, switch_id)
    if k is None:
        raise NotFound(f"no kill switch {switch_id}")
    if k.released_at is not None:
        raise WorkstationError(f"kill switch {switch_id} was already released by {k.released_by}")
    if not reason.strip():
        raise WorkstationError("releasing a kill switch needs a reason")
    k.released_by, k.released_at, k.release_reason = username, datetime.now(UTC), reason
    record(
        session, username, "killswitch.release", "kill_switch", k.id,
        {"engaged": True, "scope": k.scope, "key": k.scope_key}, {"engaged": False}, reason,
    )  # fmt: skip
    return k


def switches(session: Session, include_released: bool = False) -> list[dict[str, Any]]:
    q = select(KillSwitch).order_by(KillSwitch.id)
    if not include_released:
        q = q.where(KillSwitch.released_at.is_(None))
    return [
        {
            "id": k.id,
            "scope": k.scope,
            "key": k.scope_key,
            "engaged_by": k.engaged_by,
            "engaged_at": k.engaged_at,
            "reason": k.reason,
            "released_by": k.released_by,
            "released_at": k.released_at,
            "release_reason": k.release_reason,
        }
        for k in session.scalars(q)
    ]


def assign_desk(session: Session, username: str, account_code: str, desk: str, reason: str) -> None:
    """Put an account on a desk (desk kill switches and desk credit limits follow it)."""
    require(session, username, Permission.DESKS_EDIT)
    if session.execute(select(Account.id).where(Account.code == account_code)).first() is None:
        raise NotFound(f"account {account_code!r} does not exist")
    row = session.get(DeskAccount, account_code)
    before = None if row is None else {"desk": row.desk}
    if row is None:
        session.add(DeskAccount(account_code=account_code, desk=desk))
    else:
        row.desk = desk
    record(session, username, "desk.assign", "account", account_code, before, {"desk": desk}, reason)


class KillSwitchGate:
    """The OMS's kill-switch port (engine.oms.controls.KillSwitchPort): which accounts may route,
    and which traders' orders are stopped.

    One query finds whether any switch is engaged at all; only then is each account asked. A
    query that fails raises, and the OMS refuses the routing (fail closed)."""

    def allowed(self, session: Session, account_codes: set[str]) -> set[str]:
        if session.scalar(_active(session).with_only_columns(KillSwitch.id).limit(1)) is None:
            return set(account_codes)
        return {c for c in account_codes if routing_allowed(session, c)}

    def stopped_traders(self, session: Session, usernames: set[str]) -> dict[str, str]:
        """Those of these traders under an engaged trader switch -> the switch's description."""
        if not usernames:
            return {}
        rows = session.scalars(
            _active(session)
            .where(KillSwitch.scope == "trader", KillSwitch.scope_key.in_(usernames))
            .order_by(KillSwitch.id)
        ).all()
        out: dict[str, str] = {}
        for k in rows:
            out.setdefault(str(k.scope_key), describe(k))
        return out
