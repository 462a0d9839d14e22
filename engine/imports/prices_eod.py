"""Import an end-of-day close file: one close per listing and session, found by identifier and MIC.

Data vendors name a listing by an identifier and the exchange it trades on, not by our symbols:

    identifier,id_type,mic,date,close,currency
    US0378331005,ISIN,XNAS,2026-10-30,270.37,USD
    VOD,TICKER,XLON,2026-10-30,0.7264,GBP

ISIN, CUSIP and SEDOL are matched exactly (check digits verified) and the MIC must be the listing's;
TICKER is the exchange's own ticker (`local_ticker`) with the MIC, as custodians write it. Every row
is checked before anything is written: an unknown or ambiguous security, a MIC or currency that
is not the listing's, a close that is not a finite number above zero, and the same listing and
date twice are each refused with row, column and reason. Closes are upserted like `prices`
(on security and date) with the source `eod`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Problem
from engine.imports import parse, prices
from engine.imports.cells import Cells
from engine.imports.csvread import Table
from engine.imports.kind import Counts, Kind
from engine.imports.seen import FirstSeen
from engine.store.reference import Security

REQUIRED = ("identifier", "id_type", "mic", "date", "close", "currency")
OPTIONAL = ("volume",)
ID_TYPES = ("ISIN", "CUSIP", "SEDOL", "TICKER")
SOURCE = "eod"
NOT_FINITE = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


@dataclass(frozen=True)
class Listing:
    id: int
    symbol: str
    mic: str
    currency: str


def _close(text: str) -> object:
    if text.lower() in NOT_FINITE:
        raise parse.ParseError(f"{text!r} is not a finite number")
    return parse.positive(text, parse.PRICE)


def _id_type(text: str) -> str:
    value = text.upper()
    if value not in ID_TYPES:
        raise parse.ParseError(f"{text!r} is not one of {', '.join(ID_TYPES)}")
    return value


_CHECK = {"ISIN": parse.isin, "CUSIP": parse.cusip, "SEDOL": parse.sedol, "TICKER": parse.text(24)}


def _index(session: Session) -> dict[tuple[str, str], list[Listing]]:
    """(id type, identifier) -> the listings that carry it; TICKER keys are TICKER.MIC."""
    found: dict[tuple[str, str], list[Listing]] = defaultdict(list)
    query = select(
        Security.id,
        Security.symbol,
        Security.mic,
        Security.currency,
        Security.isin,
        Security.cusip,
        Security.sedol,
        Security.local_ticker,
    )
    for sid, symbol, mic, ccy, isin, cusip, sedol, ticker in session.execute(query):
        listing = Listing(sid, symbol, mic, ccy)
        for kind, ref in (("ISIN", isin), ("CUSIP", cusip), ("SEDOL", sedol)):
            if ref:
                found[(kind, ref.upper())].append(listing)
        if ticker:
            found[("TICKER", f"{ticker.upper()}.{mic}")].append(listing)
    return found


def check(session: Session, table: Table, problems: list[Problem]) -> prices.Plan:
    """Resolve every row to one listing and check its MIC, currency, close and date."""
    index = _index(session)
    seen = FirstSeen("close")
    plan = prices.Plan()
    for row in table.rows:
        cells = Cells(table, row, problems)
        id_type = cells.required("id_type", _id_type)
        mic = cells.required("mic", lambda v: v.upper())
        on = cells.required("date", parse.iso_date)
        close = cells.required("close", _close)
        currency = cells.required("currency", parse.currency)
        fields: dict[str, object] = {"close": close}
        cells.put(fields, "volume", parse.integer)
        ident = cells.required("identifier", _CHECK[id_type]) if id_type else None
        if ident is None or mic is None:
            continue
        key = (id_type or "", f"{ident.upper()}.{mic}" if id_type == "TICKER" else ident.upper())
        listings = index.get(key, [])
        if id_type != "TICKER" and listings and all(x.mic != mic for x in listings):
            held = ", ".join(sorted({x.mic for x in listings}))
            cells.problem("mic", f"{id_type} {ident} is listed on {held} in the book, not {mic}")
            continue
        listings = [x for x in listings if x.mic == mic]
        if not listings:
            cells.problem("identifier", f"unknown security: no listing with {id_type} {ident} on {mic}")
            continue
        if len(listings) > 1:
            names = ", ".join(x.symbol for x in listings)
            cells.problem("identifier", f"{id_type} {ident} on {mic} is ambiguous: it names {names}")
            continue
        listing = listings[0]
        if currency is not None and currency != listing.currency:
            cells.problem(
                "currency",
                f"currency {currency!r} differs from {listing.symbol}'s currency {listing.currency!r}",
            )
        duplicate = on is None or not seen.claim(
            cells, "date", (listing.id, on), f"{listing.symbol} on {on.isoformat()}"
        )
        if on is not None and not duplicate and cells.ok:
            plan.rows.append(prices.PriceRow(listing.id, on, fields))
    return plan


def write(session: Session, plan: prices.Plan) -> Counts:
    """Upsert closes on (security, date); a changed close takes `eod` as its source."""
    return prices.write(session, plan, source=SOURCE)


KIND = Kind("prices-eod", REQUIRED, OPTIONAL, check, write)
