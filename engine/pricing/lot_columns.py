"""Every open lot as numpy columns from ONE aggregate query: the database writes each column as a
comma-separated text of integers and numpy parses it (the desk's fresh 10,000-account book).

Fetching 1.35M lots row by row built a Python tuple of seven objects per lot: 3.3-3.9 CPU-s, the
GIL held throughout. Here SQLite (`group_concat`) or PostgreSQL (`string_agg`) writes four texts
inside one step of the driver, which releases the GIL: the lot's account, security and holding
term packed in one integer key, the quantity and unit cost in millionths and the acquisition FX
rate in units of 1e-10 (the scales of their columns, engine.store.base). numpy parses the texts
in pieces of ~1 MB (`np.fromstring`, ~0.15 s in all), so no single call holds the GIL for long.

Exactness: an integer `n` of a column with scale `s` divided by 10**s is the double nearest the
decimal n / 10**s, which is what the row read returned (PostgreSQL's cast of an exact NUMERIC,
SQLite's stored double of a Decimal with that many places). SQLite keeps NUMERIC as a double
that may carry more places than its column's scale; the same query counts the lots whose value
does not come back exactly (`x <> round(x * 10**s) / 10**s`, computed in the same IEEE doubles),
and any such lot (or a scaled value past 2**53) sends the whole read to the row-by-row path
(`fetch_numeric`), so the figures are the row read's in every case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from engine.pricing.rawread import as_float, date_literal, epoch_days, fetch_numeric, fetch_rows, id_list

log = logging.getLogger(__name__)
KEY_SHIFT = 1 << 24  # security ids stay below 2**24 (as engine.pricing.valuation.KEY_SHIFT)
SCALES = {"quantity": 6, "unit_cost": 6, "fx_rate": 10}  # decimal places of the columns
EXACT = 2**53  # a scaled integer at or past this is not exact as a double
PIECE = 1 << 20  # characters of text parsed per numpy call


@dataclass
class LotColumns:
    """Open lots (in no particular order), one numpy array per field."""

    account_id: np.ndarray
    security_id: np.ndarray
    long_term: np.ndarray
    """True where the lot is long-term on the as-of date (acquired on or before the cut-off)."""
    quantity: np.ndarray
    unit_cost: np.ndarray
    fx_rate: np.ndarray

    def __len__(self) -> int:
        return len(self.account_id)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _aggregate_sql(session: Session, cutoff: date, where: str) -> str:
    pg = _postgres(session)
    term = f"CASE WHEN acquired <= {date_literal(cutoff)} THEN 1 ELSE 0 END"
    key = f"(CAST(account_id AS BIGINT) * {KEY_SHIFT} + security_id) * 2 + {term}"
    scaled = {c: f"CAST(round({c} * {10**s}) AS BIGINT)" for c, s in SCALES.items()}

    def text(expr: str) -> str:
        return f"string_agg(CAST({expr} AS TEXT), ',')" if pg else f"group_concat({expr}, ',')"

    # a lot whose value the integers cannot give back exactly (see the module's note)
    big = " OR ".join(f"abs({c}) >= {EXACT / 10**s!r}" for c, s in SCALES.items())
    if pg:  # NUMERIC(p, s) holds exactly s places
        odd = big
    else:
        odd = big + "".join(f" OR {c} <> round({c} * {10**s}) / {float(10**s)!r}" for c, s in SCALES.items())
    return (
        f"SELECT count(*), sum(CASE WHEN {odd} THEN 1 ELSE 0 END), {text(key)}, "
        + ", ".join(text(scaled[c]) for c in SCALES)
        + f" FROM tax_lots{where}"
    )


def parse_ints(text: str | None, count: int) -> np.ndarray:
    """`count` comma-separated integers, parsed ~1 MB at a time (a short hold of the GIL each)."""
    out = np.empty(count, dtype=np.int64)
    if count == 0:
        return out
    if text is None:
        raise ValueError("no text for the lots counted")
    done = start = 0
    while start < len(text):
        end = text.find(",", start + PIECE) if start + PIECE < len(text) else -1
        piece = text[start:] if end < 0 else text[start:end]
        got = np.fromstring(piece, dtype=np.int64, sep=",")
        if done + len(got) > count:
            raise ValueError("more integers than lots counted")
        out[done : done + len(got)] = got
        done += len(got)
        start = len(text) if end < 0 else end + 1
    if done != count:
        raise ValueError(f"parsed {done} integers for {count} lots")
    return out


def read_lot_columns(session: Session, cutoff: date, account_ids: list[int] | None = None) -> LotColumns:
    """The open lots (of `account_ids`, default all): account, security, long-term (acquired on
    or before `cutoff`), quantity, unit cost and acquisition FX rate, as stored."""
    where = "" if account_ids is None else f" WHERE account_id IN ({id_list(account_ids)})"
    row = fetch_rows(session, _aggregate_sql(session, cutoff, where))[0]
    count, odd = int(row[0]), int(row[1] or 0)
    if odd:
        log.info("%d of %d lots carry more places than their columns: reading lots row by row", odd, count)
        return read_lot_rows(session, cutoff, where)
    key = parse_ints(row[2], count)
    qty, cost, rate = (
        parse_ints(t, count) / float(10**s) for t, s in zip(row[3:], SCALES.values(), strict=True)
    )
    pair = key >> 1
    return LotColumns(pair // KEY_SHIFT, pair % KEY_SHIFT, (key & 1).astype(bool), qty, cost, rate)


def read_lot_rows(session: Session, cutoff: date, where: str = "") -> LotColumns:
    """The same columns through the driver's rows (the path for values the texts cannot carry)."""
    num = ", ".join(as_float(session, c) for c in ("quantity", "unit_cost", "fx_rate"))
    block = fetch_numeric(
        session,
        f"SELECT account_id, security_id, {num}, {epoch_days(session, 'acquired')} FROM tax_lots{where}",
        6,
    )
    days = block[:, 5].astype(np.int64)
    last = (np.datetime64(cutoff, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    return LotColumns(
        block[:, 0].astype(np.int64),
        block[:, 1].astype(np.int64),
        days <= last,
        block[:, 2].copy(),
        block[:, 3].copy(),
        block[:, 4].copy(),
    )
