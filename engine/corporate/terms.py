"""The kinds of corporate action, their terms and dates, and the checks every entry passes.

Booking date: the ex date, for every kind. Positions change on it (splits, stock dividends,
mergers, spin-offs, renames, delistings); a cash dividend's entitlement is fixed on it (the
holders of its eve) and accrued as unsettled cash. Cash of any kind (dividends, merger cash, cash
in lieu, a delisting's value) stays unsettled until the pay date, when the day cycle's settle
step moves it to settled. See docs/accounting.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

KINDS = ("split", "reverse_split", "dividend", "stock_dividend", "merger", "spinoff", "rename", "delisting")
STORED = {"reverse_split": "split"}  # a reverse split is a split with ratio_new < ratio_old
CASH_ONLY = frozenset({"dividend"})  # never suspends a rebalance; booked first on a shared ex date


@dataclass(frozen=True)
class ActionTerms:
    """One corporate action as entered (a file row or the CLI). `security` and `new_security`
    are a symbol or an ISIN; amounts are per share held, in the security's currency."""

    ref: str
    kind: str
    security: str
    ex_date: date
    announce_date: date | None = None
    record_date: date | None = None
    pay_date: date | None = None
    ratio_new: Decimal | None = None
    ratio_old: Decimal | None = None
    amount: Decimal | None = None
    new_security: str | None = None
    allocation: Decimal | None = None
    new_price: Decimal | None = None
    lieu_price: Decimal | None = None
    new_symbol: str | None = None
    new_isin: str | None = None

    @property
    def stored_kind(self) -> str:
        return STORED.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _positive(x: Decimal | None) -> bool:
    return x is not None and x > 0


def check(t: ActionTerms) -> list[tuple[str, str]]:
    """Every (field, reason) wrong with the terms on their own (the book is checked by entry)."""
    out: list[tuple[str, str]] = []
    if not t.ref or len(t.ref) > 64:
        out.append(("ref", "required, at most 64 characters"))
    if t.kind not in KINDS:
        return [*out, ("kind", f"must be one of {', '.join(KINDS)}")]
    if t.announce_date and t.announce_date > t.ex_date:
        out.append(("announce_date", f"{t.announce_date} is after the ex date {t.ex_date}"))
    if t.record_date and t.announce_date and t.record_date < t.announce_date:
        out.append(("record_date", f"{t.record_date} is before the announcement {t.announce_date}"))
    if t.pay_date and t.pay_date < t.ex_date:
        out.append(("pay_date", f"{t.pay_date} is before the ex date {t.ex_date}"))
    ratio = _positive(t.ratio_new) and _positive(t.ratio_old)
    for name in ("amount", "new_price", "lieu_price"):
        v = getattr(t, name)
        if v is not None and v < 0:
            out.append((name, "must not be negative"))
    if t.allocation is not None and not 0 <= t.allocation <= 1:
        out.append(("allocation", "must be a fraction from 0 to 1"))
    k = t.kind
    if k in ("split", "reverse_split", "stock_dividend", "spinoff") and not ratio:
        out.append(("ratio_new", f"a {k} needs positive ratio_new and ratio_old"))
    elif k == "split" and t.ratio_new is not None and t.ratio_old is not None and t.ratio_new <= t.ratio_old:
        out.append(("ratio_new", "a split gives more shares (ratio_new > ratio_old): use reverse_split"))
    elif (
        k == "reverse_split"
        and t.ratio_new is not None
        and t.ratio_old is not None
        and t.ratio_new >= t.ratio_old
    ):
        out.append(("ratio_new", "a reverse split gives fewer shares (ratio_new < ratio_old)"))
    if k == "dividend" and not _positive(t.amount):
        out.append(("amount", "a dividend needs a positive amount per share"))
    if k in ("merger", "spinoff"):
        stock = ratio or k == "spinoff"
        if k == "merger" and not ratio and not _positive(t.amount):
            out.append(("amount", "a merger pays cash (amount) and/or shares (ratio_new, ratio_old)"))
        if stock and not t.new_security:
            out.append(("new_security", f"a {k} in shares needs the new security"))
        if k == "merger" and ratio and (t.ratio_new is None) != (t.ratio_old is None):
            out.append(("ratio_old", "give both ratios"))
        if (
            k == "merger"
            and ratio
            and _positive(t.amount)
            and t.allocation is None
            and not _positive(t.new_price)
        ):
            out.append(
                ("allocation", "a cash-and-stock merger needs new_price or the cash's fraction of the value")
            )
        if k == "spinoff" and (t.allocation is None or not 0 < t.allocation < 1):
            out.append(
                ("allocation", "a spin-off needs the issuer's published basis fraction (0 to 1, exclusive)")
            )
    if k == "rename" and not (t.new_symbol or t.new_isin):
        out.append(("new_symbol", "a rename needs a new symbol or ISIN"))
    if t.new_isin is not None and len(t.new_isin) != 12:
        out.append(("new_isin", "an ISIN has 12 characters"))
    return out


def booking_date(kind: str, ex_date: date, pay_date: date | None) -> date:
    """When book_due books it: the ex date (its cash settles on `pay_date`)."""
    return ex_date


def booking_order(kind: str, ex_date: date, ident: int) -> tuple[date, int, int]:
    """Order of booking: by ex date; on one ex date cash dividends first (paid on the shares of
    the eve, before a split or a merger changes them), then as entered."""
    return (ex_date, 0 if kind in CASH_ONLY else 1, ident)


def display_kind(kind: str, ratio_new: Decimal | None, ratio_old: Decimal | None) -> str:
    """The kind as entered: a stored split with fewer new shares is a reverse split."""
    if kind == "split" and ratio_new is not None and ratio_old is not None and ratio_new < ratio_old:
        return "reverse_split"
    return kind
