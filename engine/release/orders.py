"""A rebalance proposal's trades as OMS order drafts: one per security trade, one per FX spot trade.

Sells carry the lots the optimiser chose (proposal `lot_id` = tax_lots.id, turned into the lot's
`lot_ref`), so allocation relieves exactly those lots at fill (engine.oms.allocation.pick_lots).
An FX spot trade (buy `amount` of `currency` against the account's base) becomes an order on the
FX spot instrument (engine.oms.fx). FX orders go to `fx_broker` when given, else to the proposal's
securities broker (a desk funds and buys with the same counterparty unless told otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.model.trades import LotPick
from engine.oms.drafts import OrderDraft
from engine.oms.fx import fx_symbol
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.positions import TaxLot


def _dec(value: object) -> Decimal:
    """A JSON number as a plain Decimal (1700.0 -> 1700, never 1.7E+3)."""
    return Decimal(format(Decimal(str(value)).normalize(), "f"))


@dataclass(frozen=True, slots=True)
class ProposalOrders:
    """The drafts of one proposal: security trades first (in the proposal's order), then FX."""

    proposal_id: int
    account: str
    trades: tuple[OrderDraft, ...]
    fx: tuple[OrderDraft, ...]

    @property
    def drafts(self) -> list[OrderDraft]:
        return [*self.trades, *self.fx]


def _lots(session: Session, account_id: int, pid: int, k: int, t: dict[str, Any]) -> tuple[LotPick, ...]:
    picks = t.get("lots") or []
    ids = [int(p["lot_id"]) for p in picks]
    refs = dict(
        session.execute(
            select(TaxLot.id, TaxLot.lot_ref).where(TaxLot.id.in_(ids), TaxLot.account_id == account_id)
        ).all()
    )
    out = []
    for p in picks:
        ref = refs.get(int(p["lot_id"]))
        if ref is None:
            raise WorkstationError(
                f"proposal {pid} trade {k + 1}: lot {p['lot_id']} is no longer an open lot of the account "
                "(run the rebalance again)"
            )
        out.append(LotPick(ref, _dec(p["quantity"])))
    if out and sum((p.quantity for p in out), Decimal(0)) != _dec(t["quantity"]):
        raise WorkstationError(f"proposal {pid} trade {k + 1}: its lots do not add up to its quantity")
    return tuple(out)


def proposal_orders(
    session: Session, proposal: Proposal, broker: str | None = None, fx_broker: str | None = None
) -> ProposalOrders:
    """Drafts for every trade of `proposal` (market day orders, as the optimiser priced them).

    FX trades go to `fx_broker`, or to `broker` when no FX broker is named."""
    code = session.execute(select(Account.code).where(Account.id == proposal.account_id)).scalar_one()
    payload = proposal.payload or {}
    trades = []
    for k, t in enumerate(payload.get("trades") or []):
        try:
            side = str(t["side"])
            trades.append(
                OrderDraft(
                    account=code,
                    symbol=str(t["symbol"]),
                    side=side,
                    quantity=_dec(t["quantity"]),
                    order_type=str(t.get("order_type", "market")),
                    limit_price=None if t.get("limit_price") in (None, "") else _dec(t["limit_price"]),
                    broker=broker,
                    proposal_id=proposal.id,
                    lots=_lots(session, proposal.account_id, proposal.id, k, t) if side == "sell" else (),
                )
            )
        except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
            raise WorkstationError(f"proposal {proposal.id} trade {k + 1}: unreadable ({exc})") from None
    fx = []
    for k, t in enumerate(payload.get("fx_trades") or []):
        try:
            fx.append(
                OrderDraft(
                    account=code,
                    symbol=fx_symbol(str(t["currency"]), str(t["against"])),
                    side=str(t["side"]),
                    quantity=_dec(t["amount"]),
                    broker=fx_broker or broker,
                    proposal_id=proposal.id,
                )
            )
        except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
            raise WorkstationError(f"proposal {proposal.id} FX trade {k + 1}: unreadable ({exc})") from None
    return ProposalOrders(proposal.id, code, tuple(trades), tuple(fx))
