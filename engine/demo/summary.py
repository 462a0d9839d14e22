"""What the SIMULATED demo history left in the book, for `workstation demo`'s summary."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.accounting.tables import Booking, CashMovement, CorporateAction, RealizedGain
from engine.daycycle.tables import AccountDailyValue, DayRun, DayStep
from engine.state.daycycle import CLOSED
from engine.store.database import Database
from engine.store.meta import BookMeta


def history_summary(database: Database) -> dict[str, Any] | None:
    """Counts of the history (None when the book has none): closes, bookings, income, gains."""
    with database.session() as s:
        meta = {m.key: m.value for m in s.scalars(select(BookMeta))}
        if meta.get("demo_history_years", "0") in ("", "0"):
            return None
        first, last, closed = s.execute(
            select(func.min(DayRun.day), func.max(DayRun.day), func.count()).where(DayRun.status == CLOSED)
        ).one()
        cycled = s.scalar(select(func.count(func.distinct(DayStep.day))).where(DayStep.step == "load"))
        moves = {
            k: int(n)
            for k, n in s.execute(select(CashMovement.kind, func.count()).group_by(CashMovement.kind)).all()
        }
        actions = {
            k: int(n)
            for k, n in s.execute(
                select(CorporateAction.kind, func.count()).group_by(CorporateAction.kind)
            ).all()
        }
        trades = s.scalar(
            select(func.count()).select_from(Booking).where(Booking.source_ref.like("SIMBRK-%"))
        )
        gains = s.scalar(select(func.count()).select_from(RealizedGain))
        values = s.scalar(select(func.count()).select_from(AccountDailyValue))
    return {
        "simulated": True,
        "years": int(meta["demo_history_years"]),
        "first_close": first.isoformat() if first else None,
        "last_close": last.isoformat() if last else None,
        "closed_dates": int(closed),
        "day_cycle_closes": int(cycled or 0),
        "bulk_closes": int(closed) - int(cycled or 0),
        "daily_values": int(values or 0),
        "cash_movements_by_kind": moves,
        "corporate_actions_by_kind": actions,
        "rebalance_trades": int(trades or 0),
        "realized_gain_lines": int(gains or 0),
    }


def render_history(h: dict[str, Any]) -> str:
    """The history as text lines for the demo summary."""
    moves = ", ".join(f"{k} {v:,}" for k, v in sorted(h["cash_movements_by_kind"].items()))
    acts = ", ".join(f"{k} {v:,}" for k, v in sorted(h["corporate_actions_by_kind"].items()))
    return "\n".join(
        [
            f"SIMULATED history: {h['years']} year(s), {h['first_close']} to {h['last_close']}: "
            f"{h['closed_dates']:,} dates closed ({h['day_cycle_closes']} by the full day cycle from inbox files, "
            f"{h['bulk_closes']:,} quiet weekdays in bulk); {h['daily_values']:,} daily values",
            f"  cash movements: {moves}",
            f"  corporate actions: {acts}",
            f"  rebalance trades: {h['rebalance_trades']:,}; realized gain lines: {h['realized_gain_lines']:,}",
        ]
    )
