"""What the set-wise trade booker reads once: accounts, securities (with their group of
substantially identical securities) and which fills must go through LedgerBooker itself
(engine.activity.trades_bulk's module docstring says which and why)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting import washsale
from engine.accounting.tables import Booking, IdenticalGroup, RealizedGain
from engine.model.enums import Side, TaxStatus
from engine.model.trades import TradeFill
from engine.store.accounts import Account
from engine.store.reference import Security

CHUNK = 500


@dataclass
class Acct:
    """An account as the booker needs it."""

    id: int
    code: str
    household: int | None
    base: str
    relief: str
    jurisdiction: str
    us_taxable: bool


@dataclass
class Sec:
    """A security as the booker needs it; `group`: its identical-securities key."""

    id: int
    symbol: str
    currency: str
    mic: str
    mult: Decimal
    group: str


def chunked(session: Session, stmt: Any, col: Any, ids: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        out += session.execute(stmt.where(col.in_(ids[i : i + CHUNK]))).all()
    return out


def load_accounts(session: Session, codes: set[str]) -> dict[str, Acct]:
    rows = chunked(
        session,
        select(Account.id, Account.code, Account.household_id, Account.base_currency, Account.lot_relief,
               Account.tax_jurisdiction, Account.tax_status),
        Account.code, sorted(codes),
    )  # fmt: skip
    out = {}
    for i, code, hh, base, relief, jur, status in rows:
        us = jur == "US" and status == TaxStatus.TAXABLE.value
        out[str(code)] = Acct(int(i), str(code), hh, str(base), str(relief), str(jur), us)
    return out


def load_securities(session: Session, symbols: set[str]) -> dict[str, Sec]:
    configured = dict(session.execute(select(IdenticalGroup.security_id, IdenticalGroup.group_code)).all())
    rows = chunked(
        session,
        select(Security.id, Security.symbol, Security.currency, Security.mic, Security.price_multiplier,
               Security.adr_ordinary_id),
        Security.symbol, sorted(symbols),
    )  # fmt: skip
    out = {}
    for i, sym, ccy, mic, mult, ordinary in rows:
        group = f"G:{configured[i]}" if i in configured else f"S:{ordinary or i}"
        out[str(sym)] = Sec(int(i), str(sym), str(ccy), str(mic), Decimal(mult), group)
    return out


def group_of(session: Session) -> dict[int, str]:
    """security id -> its identical group key (engine.accounting.identical's key)."""
    configured = dict(session.execute(select(IdenticalGroup.security_id, IdenticalGroup.group_code)).all())
    out = {}
    for i, ordinary in session.execute(select(Security.id, Security.adr_ordinary_id)):
        out[int(i)] = f"G:{configured[i]}" if i in configured else f"S:{ordinary or i}"
    return out


def single_path(
    session: Session, fills: list[TradeFill], accts: dict[str, Acct], secs: dict[str, Sec]
) -> set[int]:  # fmt: skip
    refs = [f.source_ref for f in fills]
    seen: set[str] = set()
    for (r,) in chunked(session, select(Booking.source_ref), Booking.source_ref, sorted(set(refs))):
        seen.add(str(r))
    slow: set[int] = set()
    once: set[str] = set()
    for n, f in enumerate(fills):
        a, s = accts.get(f.account), secs.get(f.symbol)
        if (not f.source_ref or f.source_ref in seen or f.source_ref in once or a is None or s is None
                or f.quantity <= 0 or f.price < 0 or f.commission < 0 or f.fees < 0 or f.lots):  # fmt: skip
            slow.add(n)
        once.add(f.source_ref)
    us_households = _us_households(session, {a.household for a in accts.values()})
    keys: dict[tuple[int, str], list[int]] = defaultdict(list)
    for n, f in enumerate(fills):
        if n in slow:
            continue
        a, s = accts[f.account], secs[f.symbol]
        if a.household in us_households:
            keys[(int(a.household or 0), s.group)].append(n)
    if not keys:
        return slow
    days = [fills[n].trade_date for ns in keys.values() for n in ns]
    lo, hi = min(days) - washsale.WINDOW, max(days) + washsale.WINDOW
    groups = group_of(session)
    hh_of = dict(session.execute(select(Account.id, Account.household_id)).all())
    store_buys: dict[tuple[int, str], list[date]] = defaultdict(list)
    for aid, sid, d in session.execute(
        select(Booking.account_id, Booking.security_id, Booking.trade_date).where(
            Booking.kind == "trade", Booking.side == "buy", Booking.trade_date >= lo, Booking.trade_date <= hi,
            Booking.replacement_used < Booking.quantity,
        )
    ):  # fmt: skip
        store_buys[(int(hh_of.get(aid or 0) or 0), groups.get(sid or 0, ""))].append(d)
    store_losses: dict[tuple[int, str], list[date]] = defaultdict(list)
    for aid, sid, d in session.execute(
        select(RealizedGain.account_id, RealizedGain.security_id, RealizedGain.sold).where(
            RealizedGain.wash_unmatched_qty > 0, RealizedGain.sold >= lo, RealizedGain.sold <= hi
        )
    ):
        store_losses[(int(hh_of.get(aid) or 0), groups.get(sid, ""))].append(d)
    w = washsale.WINDOW
    for key, ns in keys.items():
        sells = [n for n in ns if fills[n].side == Side.SELL and accts[fills[n].account].us_taxable]
        buys = [n for n in ns if fills[n].side == Side.BUY]
        if sells and buys:
            slow.update(ns)
            continue
        for n in sells:
            if any(abs(d - fills[n].trade_date) <= w for d in store_buys.get(key, ())):
                slow.add(n)
        for n in buys:
            if any(abs(d - fills[n].trade_date) <= w for d in store_losses.get(key, ())):
                slow.add(n)
    return slow


def _us_households(session: Session, households: set[int | None]) -> set[int | None]:
    hh = sorted(h for h in households if h is not None)
    rows = chunked(
        session,
        select(Account.household_id).where(Account.tax_jurisdiction == "US",
                                           Account.tax_status == TaxStatus.TAXABLE.value),
        Account.household_id, hh,
    )  # fmt: skip
    return {r[0] for r in rows}


# ---- the fast path --------------------------------------------------------------------
