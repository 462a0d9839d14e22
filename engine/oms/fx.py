"""FX spot instruments: `<CCY><AGAINST>` symbols (EURUSD: quantity in EUR, priced in USD) with
asset class `fx_spot` on the off-exchange venue XOFF, created in the reference data on first use.
The OMS books their fills as two cash legs (engine.accounting.fxspot), never as lots.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.model.currency import is_currency
from engine.store.database import Database
from engine.store.reference import Security

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


def ensure_fx_instruments(database: Database, pairs: set[tuple[str, str]]) -> None:
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
