"""A rebalance proposal's trades as OMS order drafts: one per security trade, one per FX spot trade.

Sells carry the lots the optimiser chose (proposal `lot_id` = tax_lots.id, turned into the lot's
`lot_ref`), so allocation relieves exactly those lots at fill (engine.oms.allocation.pick_lots).
An FX spot trade (buy `amount` of `currency` against the account's base) becomes an order on the
FX spot instrument `<CCY><AGAINST>` (e.g. EURUSD: quantity in EUR, priced in USD), created in the
reference data on first use with asset class `fx_spot` on the off-exchange venue XOFF. FX orders
go to `fx_broker` when given, else to the proposal's securities broker (a desk funds and buys with
the same counterparty unless told otherwise); the OMS books their fills as two cash legs
(engine.accounting.fxspot), never as lots.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.model.currency import is_currency
from engine.model.trades import LotPick
from engine.oms.drafts import OrderDraft
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Security
from engine.store.trading import Proposal

FX_ASSET_CLASS = "fx_spot"
FX_VENUE = "XOFF"


def fx_symbol(currency: str, against: str) -> str:
    """The FX spot instrument buying `currency` against `against` (EURUSD)."""
    return f"{currency.upper()}{against.upper()}"


def fx_pair(symbol: str) -> tuple[str, str] | None:
    """(dealt, counter) of an FX spot symbol such as EURUSD, or None if it is not one."""
    s = symbol.upper()
    if len(s) != 6 or not s.isalpha() or s[:3] == s[3:] or not (is_currency(s[:3]) and is_currency(s[3:])):
        return None
    return s[:3], s[3:]


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


def ensure_fx_instruments(database: Any, pairs: set[tuple[str, str]]) -> None:
    """Create the FX spot instruments the OMS needs for these (currency, against) pairs, once.

    Each in its own short transaction; a second desk creating the same pair meanwhile is fine."""
    for ccy, against in sorted(pairs):
        symbol = fx_symbol(ccy, against)
        with database.session() as s:
            if s.execute(select(Security.id).where(Security.symbol == symbol)).first() is not None:
                continue
        try:
            with database.transaction() as s:
                s.add(
                    Security(
                        symbol=symbol,
                        name=f"FX spot {ccy.upper()}/{against.upper()}",
                        asset_class=FX_ASSET_CLASS,
                        currency=against.upper(),
                        mic=FX_VENUE,
                        country="XX",
                        sector="FX",
                        issuer="FX spot",
                        lot_size=1,
                    )
                )
        except IntegrityError:  # another desk made it first
            pass
