"""Check parsed activity rows against the book before anything is booked: every problem, row by row.

Accounts must exist and be held at the custodian named; securities resolve by any identifier we
hold (ISIN, CUSIP, SEDOL, TICKER as local ticker.MIC, or our symbol); amounts must fit their kind;
income's gross less withholding must equal its net to the currency's minor unit; a reference may
appear once in a file. The result is one `Checked` line per row, or the list of problems.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.activity.rows import INCOME, KINDS, SECURITY_KINDS, TRADES, ActivityRow
from engine.errors import Problem
from engine.model.currency import is_currency, round_money
from engine.store.accounts import Account
from engine.store.reference import Security

ID_TYPES = ("ISIN", "CUSIP", "SEDOL", "TICKER", "SYMBOL")
ZERO = Decimal(0)
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What booking needs of an account."""

    id: int
    code: str
    custodian: str
    base_currency: str


@dataclass(frozen=True, slots=True)
class SecurityInfo:
    """What booking needs of a security."""

    id: int
    symbol: str
    currency: str
    multiplier: Decimal


@dataclass(frozen=True, slots=True)
class Checked:
    """A row that passed every check, with its account, security and cash amounts resolved."""

    row: ActivityRow
    account: AccountInfo
    security: SecurityInfo | None
    currency: str | None
    net: Decimal | None
    gross: Decimal | None
    withholding: Decimal | None
    fingerprint: str


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)


def fingerprint(row: ActivityRow, security_id: int | None) -> str:
    """SHA-256 of what the line says (not where it sits in its file): the same reference with a
    different fingerprint is a different transaction."""
    parts = (
        row.account, row.kind, row.trade_date, row.settle_date, row.currency, security_id, row.quantity,
        row.price, row.commission, row.amount, row.gross, row.withholding, row.cost_basis, row.acquired,
        row.fx_rate, row.counter_currency, row.counter_amount,
    )  # fmt: skip
    text = "|".join(_text(p) for p in parts)
    if row.lots:  # only then: the fingerprints of lines booked before stay what they were
        text += "|lots:" + ",".join(f"{ref}={_text(q)}" for ref, q in row.lots)
    if row.reverses:
        text += "|reverses:" + ",".join(row.reverses)
    return hashlib.sha256(text.encode()).hexdigest()


def load_accounts(session: Session, codes: set[str]) -> dict[str, AccountInfo]:
    """The accounts named, by code (in chunks: a day's file may name every account of the book)."""
    out: dict[str, AccountInfo] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), CHUNK):
        for a in session.execute(
            select(Account.id, Account.code, Account.custodian, Account.base_currency).where(
                Account.code.in_(ordered[i : i + CHUNK])
            )
        ):
            out[a.code] = AccountInfo(a.id, a.code, a.custodian, a.base_currency)
    return out


def security_index(session: Session) -> dict[tuple[str, str], SecurityInfo | None]:
    """(id type, identifier) -> security; an identifier two securities share maps to None."""
    index: dict[tuple[str, str], SecurityInfo | None] = {}
    for s in session.execute(
        select(
            Security.id, Security.symbol, Security.currency, Security.price_multiplier, Security.isin,
            Security.cusip, Security.sedol, Security.local_ticker, Security.mic,
        )
    ):  # fmt: skip
        info = SecurityInfo(s.id, s.symbol, s.currency, Decimal(s.price_multiplier))
        ticker = f"{s.local_ticker}.{s.mic}" if s.local_ticker else None
        for kind, ref in (("ISIN", s.isin), ("CUSIP", s.cusip), ("SEDOL", s.sedol), ("TICKER", ticker),
                          ("SYMBOL", s.symbol)):  # fmt: skip
            if ref:
                key = (kind, ref.upper())
                index[key] = None if key in index and index[key] != info else info
    return index


def resolve_security(
    index: dict[tuple[str, str], SecurityInfo | None], id_type: str | None, ref: str
) -> SecurityInfo | str:
    """The security, or a reason it cannot be resolved (as a string)."""
    key = ref.strip().upper()
    kinds = [id_type.upper()] if id_type else list(ID_TYPES)
    if id_type and kinds[0] not in ID_TYPES:
        return f"id_type {id_type!r} is not one of {', '.join(ID_TYPES)}"
    found = {index[(k, key)] for k in kinds if (k, key) in index}
    if None in found or len(found) > 1:
        return f"{ref!r} names more than one security"
    if not found:
        what = id_type.upper() if id_type else "identifier (ISIN, CUSIP, SEDOL, TICKER or symbol)"
        return f"no security with {what} {ref!r}"
    only = found.pop()
    assert only is not None
    return only


def _income(r: ActivityRow, ccy: str, out: list[Problem]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(gross, withholding, net) of a dividend or interest line, each to the minor unit."""
    given = {
        n: v
        for n, v in (("gross", r.gross), ("withholding", r.withholding), ("amount", r.amount))
        if v is not None
    }
    for name, value in given.items():
        if value < 0:
            out.append(Problem(r.row, name, f"must not be negative, got {value}"))
            return None
        if round_money(value, ccy) != value:
            out.append(Problem(r.row, name, f"{value} has more decimals than {ccy}'s minor unit"))
            return None
    gross, tax, net = r.gross, r.withholding, r.amount
    if net is None and gross is None:
        out.append(Problem(r.row, "amount", f"a {r.kind} needs its net amount or its gross"))
        return None
    if gross is None:
        tax = tax or ZERO
        gross = (net or ZERO) + tax
    elif net is None:
        net = gross - (tax or ZERO)
    elif tax is None:
        tax = gross - net
    assert gross is not None and tax is not None and net is not None
    if round_money(gross - tax, ccy) != round_money(net, ccy):
        out.append(
            Problem(
                r.row, "amount", f"gross {gross} less withholding {tax} is {gross - tax}, not the net {net}"
            )
        )
        return None
    if tax > gross or net <= 0:
        out.append(Problem(r.row, "withholding", f"withholding {tax} leaves no income of gross {gross}"))
        return None
    return gross, tax, net


def _positive(
    r: ActivityRow, name: str, value: Decimal | None, out: list[Problem], zero_ok: bool = False
) -> bool:
    if value is None:
        out.append(Problem(r.row, name, f"a {r.kind} needs a {name}"))
        return False
    if value < 0 or (value == 0 and not zero_ok):
        out.append(Problem(r.row, name, f"must be {'zero or more' if zero_ok else 'positive'}, got {value}"))
        return False
    return True


def _currency(r: ActivityRow, name: str, code: str | None, out: list[Problem]) -> str | None:
    if not code:
        out.append(Problem(r.row, name, f"a {r.kind} needs a currency"))
        return None
    if not is_currency(code):
        out.append(Problem(r.row, name, f"{code!r} is not an ISO 4217 currency"))
        return None
    return code


def check_row(
    r: ActivityRow,
    custodian: str,
    accounts: dict[str, AccountInfo],
    securities: dict[tuple[str, str], SecurityInfo | None],
    out: list[Problem],
) -> Checked | None:
    """One row checked; its problems appended to `out` (None when it has any)."""
    before = len(out)
    if not r.reference.strip():
        out.append(
            Problem(r.row, "reference", "empty: the custodian's transaction reference is the line's key")
        )
    elif len(r.reference) > 64:
        out.append(Problem(r.row, "reference", "longer than 64 characters"))
    if r.kind not in KINDS:
        out.append(Problem(r.row, "kind", f"{r.kind!r} is not one of {', '.join(KINDS)}"))
        return None
    acct = accounts.get(r.account)
    if acct is None:
        out.append(
            Problem(
                r.row, "account", f"{r.custodian_account!r} maps to {r.account!r}, which is not in the book"
            )
        )
    elif acct.custodian != custodian:
        out.append(
            Problem(r.row, "account", f"account {r.account} is held at {acct.custodian}, not {custodian}")
        )
    if r.settle_date is not None and r.settle_date < r.trade_date:
        out.append(Problem(r.row, "settle_date", f"{r.settle_date} is before the trade date {r.trade_date}"))
    security: SecurityInfo | None = None
    if r.security_ref:
        found = resolve_security(securities, r.id_type, r.security_ref)
        if isinstance(found, str):
            out.append(Problem(r.row, "security_id", found))
        else:
            security = found
    elif r.kind in SECURITY_KINDS:
        out.append(Problem(r.row, "security_id", f"a {r.kind} needs the security"))
    ccy = r.currency
    gross = tax = net = None
    if r.kind in TRADES or r.kind in ("transfer_in", "transfer_out"):
        if security is not None:
            if ccy and ccy != security.currency:
                out.append(
                    Problem(r.row, "currency", f"{security.symbol} trades in {security.currency}, not {ccy}")
                )
            ccy = security.currency
        _positive(r, "quantity", r.quantity, out)
        if r.kind in TRADES:
            _positive(r, "price", r.price, out, zero_ok=True)
            if r.commission < 0:
                out.append(Problem(r.row, "commission", f"must not be negative, got {r.commission}"))
        if r.kind == "transfer_in":
            _positive(r, "cost_basis", r.cost_basis, out, zero_ok=True)
            if r.acquired is None:
                out.append(Problem(r.row, "acquired", "a transfer in needs the original acquisition date"))
            elif r.acquired > r.trade_date:
                out.append(
                    Problem(r.row, "acquired", f"{r.acquired} is after the transfer date {r.trade_date}")
                )
            if r.fx_rate is not None and r.fx_rate <= 0:
                out.append(Problem(r.row, "fx_rate", f"must be positive, got {r.fx_rate}"))
    elif r.kind in INCOME:
        c = _currency(r, "currency", ccy, out)
        if c is not None:
            income = _income(r, c, out)
            if income is not None:
                gross, tax, net = income
    elif r.kind == "fx":
        c1 = _currency(r, "currency", ccy, out)
        c2 = _currency(r, "counter_currency", r.counter_currency, out)
        if c1 and c2 and c1 == c2:
            out.append(
                Problem(r.row, "counter_currency", f"an FX conversion needs two currencies, got {c1} twice")
            )
        _positive(r, "amount", r.amount, out)
        _positive(r, "counter_amount", r.counter_amount, out)
        net = r.amount
    else:  # fee, deposit, withdrawal, reversal
        if r.kind == "reversal" and not r.reverses:
            out.append(Problem(r.row, "reverses", "a reversal must name the line it reverses"))
        _currency(r, "currency", ccy, out)
        if _positive(r, "amount", r.amount, out):
            net = r.amount
    if len(out) > before or acct is None:
        return None
    return Checked(r, acct, security, ccy, net, gross, tax, fingerprint(r, security.id if security else None))


def duplicate_references(rows: tuple[ActivityRow, ...], out: list[Problem]) -> None:
    """A reference twice in one file is refused (on every row after the first)."""
    first: dict[str, int] = {}
    for r in rows:
        if r.reference in first:
            out.append(
                Problem(
                    r.row,
                    "reference",
                    f"{r.reference!r} appears twice in the file (first on row {first[r.reference]})",
                )
            )
        else:
            first[r.reference] = r.row
