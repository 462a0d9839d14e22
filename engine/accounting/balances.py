"""Move many cash balances at once: read once as plain rows, add in Decimal, write back in one
executemany (bulk postings: a dividend's holders, a date's settlement, a file's cash lines).

Loading thousands of balances as ORM objects cost more than the postings themselves. The
arithmetic is post_cash's (the stored Decimal plus the movements' Decimal sum); a balance not
stored yet starts at zero. Instances of these balances already in the session are expired
afterwards, so they read the new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.store.positions import CashBalance

ZERO = Decimal(0)
CHUNK = 500

Deltas = Mapping[tuple[int, str], tuple[Decimal, Decimal]]
"""(account id, currency) -> (added to settled, added to unsettled)."""


def move_balances(session: Session, deltas: Deltas) -> int:
    """Add each (settled, unsettled) pair to its balance (created at zero when missing) in the
    caller's transaction; returns the balances moved."""
    if not deltas:
        return 0
    session.flush()
    ids = sorted({a for a, _ in deltas})
    have: dict[tuple[int, str], tuple[Any, Any]] = {}
    for i in range(0, len(ids), CHUNK):
        for a, ccy, settled, unsettled in session.execute(
            select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
            .where(CashBalance.account_id.in_(ids[i : i + CHUNK]))
        ):  # fmt: skip
            have[(int(a), str(ccy))] = (settled, unsettled)
    new: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for (a, ccy), (d_settled, d_unsettled) in deltas.items():
        cur = have.get((a, ccy))
        if cur is None:
            new.append({"account_id": a, "currency": ccy, "settled": ZERO + d_settled,
                        "unsettled": ZERO + d_unsettled})  # fmt: skip
        else:
            moved.append({"k_account": a, "k_currency": ccy, "v_settled": Decimal(cur[0] or 0) + d_settled,
                          "v_unsettled": Decimal(cur[1] or 0) + d_unsettled})  # fmt: skip
    table = cast(Table, CashBalance.__table__)
    if new:
        session.execute(insert(table), new)
    if moved:
        session.execute(
            update(table)
            .where(table.c.account_id == bindparam("k_account"), table.c.currency == bindparam("k_currency"))
            .values(settled=bindparam("v_settled"), unsettled=bindparam("v_unsettled")),
            moved,
        )
    cls, _, token = session.identity_key(CashBalance, next(iter(deltas)))  # one key's shape for all
    for key in deltas:
        obj = session.identity_map.get((cls, key, token))
        if obj is not None:
            session.expire(obj)
    return len(deltas)
