"""Cash per currency an account held at the end of each date, rebuilt from the cash ledger.

The balance on a date is today's balance (settled + unsettled, i.e. trade-date cash) less every
movement dated after it; movements count on their trade date. External flows (kind "flow":
deposits and withdrawals booked by engine.accounting.fxspot.book_cash_flow) are listed apart so
that performance can take them out of return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import CashMovement
from engine.store.positions import CashBalance


@dataclass(frozen=True)
class CashHistory:
    """`balance`: dates x currencies; `flows`: external flows (date, currency, amount)."""

    balance: pd.DataFrame
    flows: pd.DataFrame


def cash_history(session: Session, account_id: int, dates: np.ndarray) -> CashHistory:
    """Trade-date cash per currency at the end of each of `dates` (datetime64[D], ascending)."""
    now: dict[str, float] = {}
    for ccy, settled, unsettled in session.execute(
        select(CashBalance.currency, CashBalance.settled, CashBalance.unsettled).where(
            CashBalance.account_id == account_id
        )
    ):
        now[ccy] = now.get(ccy, 0.0) + float(settled) + float(unsettled or 0)
    moves = pd.DataFrame(
        session.execute(
            select(
                CashMovement.currency, CashMovement.amount, CashMovement.trade_date, CashMovement.kind
            ).where(CashMovement.account_id == account_id)
        ).all(),
        columns=["currency", "amount", "trade_date", "kind"],
    )
    moves["amount"] = moves["amount"].astype(float)
    moves["trade_date"] = moves["trade_date"].to_numpy(dtype="datetime64[D]")
    columns = sorted(set(now) | set(moves["currency"]))
    balance = np.zeros((len(dates), len(columns)))
    for j, ccy in enumerate(columns):
        m = moves[moves["currency"] == ccy].sort_values("trade_date")
        when = m["trade_date"].to_numpy(dtype="datetime64[D]")
        through = np.r_[0.0, np.cumsum(m["amount"].to_numpy())]
        upto = through[np.searchsorted(when, dates, side="right")]
        balance[:, j] = now.get(ccy, 0.0) - (through[-1] - upto)
    flows = moves.loc[moves["kind"] == "flow", ["trade_date", "currency", "amount"]].reset_index(drop=True)
    return CashHistory(pd.DataFrame(balance, index=pd.DatetimeIndex(dates), columns=columns), flows)
