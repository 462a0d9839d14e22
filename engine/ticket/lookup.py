"""Find a security the way a trader types it: its symbol, ISIN, CUSIP or SEDOL.

Identifiers resolve through the book's identifier table (engine.reconcile.securities), which drops
any identifier two securities share: an ambiguous one resolves to nothing, never to a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.model.identifiers import is_valid_cusip, is_valid_isin, is_valid_sedol
from engine.reconcile.securities import identifier_table, resolve
from engine.store.reference import Exchange, Security


@dataclass(frozen=True)
class Listing:
    """The security a ticket trades, with what the ticket shows and sizes with."""

    security_id: int
    symbol: str
    name: str
    mic: str
    venue: str
    currency: str
    lot_size: int
    multiplier: Decimal
    matched: str
    """How the text matched: symbol, ISIN, CUSIP or SEDOL."""


def identifier_kinds(text: str) -> list[str]:
    """The identifier kinds `text` is a valid example of (check digits), most specific first."""
    kinds = []
    if is_valid_isin(text):
        kinds.append("ISIN")
    if is_valid_cusip(text):
        kinds.append("CUSIP")
    if is_valid_sedol(text):
        kinds.append("SEDOL")
    return kinds


def find_security(session: Session, text: str) -> Listing:
    """The security `text` names (symbol first, then ISIN, CUSIP, SEDOL); NotFound says why not."""
    ref = text.strip().upper()
    if not ref:
        raise NotFound("security: type a symbol, ISIN, CUSIP or SEDOL")
    sec = session.scalars(select(Security).where(func.upper(Security.symbol) == ref)).first()
    matched = "symbol"
    if sec is None:
        kinds = identifier_kinds(ref)
        if kinds:
            table = identifier_table(session)
            found = resolve(table, pd.Series(kinds), pd.Series([ref] * len(kinds)))
            hits = [(k, int(f)) for k, f in zip(kinds, found) if f == f]
            if hits:
                matched, sid = hits[0]
                sec = session.get(Security, sid)
    if sec is None:
        raise NotFound(f"security: no symbol, ISIN, CUSIP or SEDOL {text.strip()!r} in the book")
    exchange = session.get(Exchange, sec.mic)
    return Listing(
        security_id=sec.id,
        symbol=sec.symbol,
        name=sec.name,
        mic=sec.mic,
        venue=exchange.name if exchange is not None else sec.mic,
        currency=sec.currency,
        lot_size=max(int(sec.lot_size or 1), 1),
        multiplier=Decimal(sec.price_multiplier or 1),
        matched=matched,
    )
