"""Trade rotation across brokers: when orders of the same security and side go to several brokers
in one release (each wrap sponsor's accounts trading at their own broker), the brokers' orders
are sent in an order that rotates between releases, so no sponsor's clients always trade first.

The rotation is kept per (security, side) in `oms_rotations`: the broker that went first last
time. The next release sorts the brokers present by name and starts with the first one after it
(cyclically), so with brokers A, B and C the first place goes A, B, C, A, ... A broker absent
from a release is skipped, not owed a turn. Every rotation writes the fairness log
(`oms_rotation_log`): per broker its place, its orders and the accounts they carry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.tables import Order, Rotation, RotationEntry
from engine.store.accounts import Account
from engine.store.reference import Security

T = TypeVar("T")


def _turn(ring: list[str], last_first: str | None) -> list[str]:
    """The brokers in release order: sorted, starting after the one that went first last time."""
    if last_first is None:
        return ring
    start = next((i for i, b in enumerate(ring) if b > last_first), 0)
    return ring[start:] + ring[:start]


def rotate(s: Session, sends: Sequence[tuple[Order, T]], actor_now: Any) -> list[tuple[Order, T]]:
    """`sends` (orders about to be sent, each with its message) in release order: within each
    (security, side) sent to two or more brokers, broker by broker in the rotation's order; the
    rotation advances and the fairness log is written in `s`. Other orders keep their places."""
    groups: dict[tuple[int, str], dict[str, list[int]]] = {}
    for i, (o, _) in enumerate(sends):
        groups.setdefault((o.security_id, o.side), {}).setdefault(o.broker or "", []).append(i)
    rank: dict[int, tuple[int, int, int]] = {}
    for key, by_broker in groups.items():
        first = min(min(v) for v in by_broker.values())
        if len(by_broker) < 2:
            for i in (i for v in by_broker.values() for i in v):
                rank[i] = (first, 0, i)
            continue
        rot = s.get(Rotation, key)
        order = _turn(sorted(by_broker), rot.last_first if rot else None)
        if rot is None:
            rot = Rotation(security_id=key[0], side=key[1], last_first=order[0], runs=0)
            s.add(rot)
        rot.last_first = order[0]
        rot.runs = (rot.runs or 0) + 1
        _log(s, key, order, {b: [sends[i][0] for i in v] for b, v in by_broker.items()}, actor_now)
        for place, broker in enumerate(order):
            for i in by_broker[broker]:
                rank[i] = (first, place, i)
    return [sends[i] for i in sorted(range(len(sends)), key=lambda i: rank[i])]


def _log(s: Session, key: tuple[int, str], order: list[str], orders: dict[str, list[Order]], at: Any) -> None:
    run = uuid.uuid4().hex
    ids = [o.id for os in orders.values() for o in os]
    kids = s.execute(
        select(Order.parent_id, Account.code)
        .join(Account, Account.id == Order.account_id)
        .where(Order.parent_id.in_(ids))
        .order_by(Order.id)
    ).all()
    lone = dict(
        s.execute(
            select(Order.id, Account.code)
            .join(Account, Account.id == Order.account_id)
            .where(Order.id.in_(ids))
        ).all()
    )
    children: dict[int, list[str]] = {}
    for parent, code in kids:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    for place, broker in enumerate(order, start=1):
        for o in orders[broker]:
            accounts = children.get(o.id) or ([lone[o.id]] if o.id in lone else [])
            s.add(RotationEntry(run_id=run, at=at, security_id=key[0], side=key[1], position=place,
                                broker=broker, order_id=o.id, accounts=sorted(set(accounts)),
                                quantity=Decimal(o.quantity)))  # fmt: skip


def fairness_log(s: Session, symbol: str | None = None) -> list[dict[str, Any]]:
    """Every rotation, newest first: when, the security and side, and per place the broker, its
    orders and the accounts that traded in that place."""
    q = (
        select(RotationEntry, Security.symbol, Order.cl_ord_id)
        .join(Security, Security.id == RotationEntry.security_id)
        .join(Order, Order.id == RotationEntry.order_id)
        .order_by(RotationEntry.id)
    )
    if symbol is not None:
        q = q.where(Security.symbol == symbol)
    runs: dict[str, dict[str, Any]] = {}
    for e, sym, cl_ord_id in s.execute(q).all():
        run = runs.setdefault(
            e.run_id,
            {"run_id": e.run_id, "at": e.at.isoformat(), "symbol": sym, "side": e.side, "brokers": []},
        )
        run["brokers"].append(
            {"position": e.position, "broker": e.broker, "order_id": e.order_id, "cl_ord_id": cl_ord_id,
             "accounts": list(e.accounts), "quantity": float(e.quantity)}
        )  # fmt: skip
    out = list(runs.values())[::-1]  # newest first (ids grow with each release)
    for run in out:
        run["brokers"].sort(key=lambda e: (e["position"], e["order_id"]))
    return out
