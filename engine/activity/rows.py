"""Parsed custodian activity: the plain rows every file format (CSV, profile CSV, camt.053) is read into.

The connectors parse files into these rows with our account codes already mapped; the engine
(engine.activity.load) validates them against the book and books them. Amounts are positive: the
kind says which way cash moves (a withdrawal of 100 is `amount=100`, kind `withdrawal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

TRADES = ("buy", "sell")
INCOME = ("dividend", "interest")
FLOWS = ("deposit", "withdrawal", "transfer_in", "transfer_out")
KINDS: tuple[str, ...] = (*TRADES, *INCOME, "fee", *FLOWS, "fx", "reversal")
# External flows: money or securities entering or leaving the account (performance takes them out
# of return). Income and fees are return, not flows; an FX conversion stays inside the account.
EXTERNAL: frozenset[str] = frozenset(FLOWS)
SECURITY_KINDS: frozenset[str] = frozenset({*TRADES, "dividend", "transfer_in", "transfer_out"})


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One line of a custodian's activity, as the custodian reported it (our account code mapped).

    `reference` is the custodian's own transaction reference: with the custodian it is the line's
    natural key. `amount` is the net cash (income after withholding, fee, flow, the FX bought leg);
    `counter_currency`/`counter_amount` the FX sold leg. Transfers in carry `cost_basis` (total, in
    the security's currency) and the original `acquired` date. A sale or transfer out may name
    its `lots` ((lot, quantity or None) pairs: engine.activity.lots), which an account on
    specific-lot relief needs. A `reversal` (camt.053) cancels the booked line it `reverses`
    names (the original's reference or end-to-end id); `credit` is its direction. `end_to_end`
    is the payment's end-to-end id (camt.053 TxDtls/Refs/EndToEndId), kept so a later reversal
    can name it.
    """

    row: int
    reference: str
    custodian_account: str
    account: str
    kind: str
    trade_date: date
    settle_date: date | None = None
    currency: str | None = None
    id_type: str | None = None
    security_ref: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    commission: Decimal = Decimal(0)
    amount: Decimal | None = None
    gross: Decimal | None = None
    withholding: Decimal | None = None
    cost_basis: Decimal | None = None
    acquired: date | None = None
    fx_rate: Decimal | None = None
    counter_currency: str | None = None
    counter_amount: Decimal | None = None
    description: str | None = None
    lots: tuple[tuple[str, Decimal | None], ...] = ()
    end_to_end: str | None = None
    reverses: tuple[str, ...] = ()
    credit: bool | None = None

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL


@dataclass(frozen=True)
class ParsedActivity:
    """One file's activity: which custodian, which format, the rows; name and SHA-256 when read from
    a file (the SHA-256 makes loading the identical file again a no-op)."""

    custodian: str
    format: str
    rows: tuple[ActivityRow, ...] = field(default_factory=tuple)
    source_name: str = ""
    content_hash: str = ""
