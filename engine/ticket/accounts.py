"""Who a ticket's order is for: one account, a list, a household or every account on a model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, WorkstationError
from engine.store.accounts import Account, Household, Model
from engine.store.market import FxRate

SCOPES = ("account", "accounts", "household", "model")


@dataclass(frozen=True)
class TicketAccount:
    """An account a ticket orders for, with its base currency (for % of account value)."""

    id: int
    code: str
    base_currency: str


def split_codes(text: str) -> list[str]:
    """Codes as typed: separated by commas, semicolons or spaces, duplicates dropped in order."""
    out: list[str] = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        code = part.strip()
        if code and code not in out:
            out.append(code)
    return out


def accounts_for(session: Session, scope: str, keys: Sequence[str]) -> list[TicketAccount]:
    """The accounts a ticket names, in code order (a list keeps the order typed).

    `scope` account/accounts take account codes, household a household code, model a model code;
    an unknown code is NotFound naming it, so nothing is ordered for a partial list."""
    if scope not in SCOPES:
        raise WorkstationError(f"accounts: scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    keys = [k.strip() for k in keys if k.strip()]
    if not keys:
        raise WorkstationError(f"accounts: name the {scope if scope != 'accounts' else 'account codes'}")
    q = select(Account.id, Account.code, Account.base_currency)
    if scope in ("account", "accounts"):
        if scope == "account" and len(keys) != 1:
            raise WorkstationError("accounts: one account, or choose a list")
        rows = {r.code: r for r in session.execute(q.where(Account.code.in_(keys)))}
        missing = [k for k in keys if k not in rows]
        if missing:
            raise NotFound(f"accounts: no account {', '.join(missing)}")
        return [TicketAccount(rows[k].id, rows[k].code, rows[k].base_currency) for k in keys]
    if len(keys) != 1:
        raise WorkstationError(f"accounts: one {scope} code")
    table = Household if scope == "household" else Model
    owner = session.scalar(select(table.id).where(table.code == keys[0]))
    if owner is None:
        raise NotFound(f"accounts: no {scope} {keys[0]!r}")
    col = Account.household_id if scope == "household" else Account.model_id
    members = list(session.execute(q.where(col == owner).order_by(Account.code)))
    if not members:
        raise NotFound(f"accounts: {scope} {keys[0]} has no accounts")
    return [TicketAccount(r.id, r.code, r.base_currency) for r in members]


def scope_choices(session: Session) -> dict[str, list[str]]:
    """What a ticket can name, for its completers: account, household and model codes, and the
    currencies the book has FX rates for (a notional may be in any of them)."""
    ccys = {
        *session.scalars(select(FxRate.base).distinct()),
        *session.scalars(select(FxRate.quote).distinct()),
    }
    return {
        "account": list(session.scalars(select(Account.code).order_by(Account.code))),
        "household": list(session.scalars(select(Household.code).order_by(Household.code))),
        "model": list(session.scalars(select(Model.code).order_by(Model.code))),
        "currency": sorted(ccys),
    }
