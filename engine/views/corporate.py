"""Corporate actions as the desktop's operations workspace shows them (engine.corporate.listing),
and the manual entry and four-eyes decision it makes through engine.corporate.entry."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from engine.corporate import entry
from engine.corporate.listing import list_actions
from engine.corporate.terms import KINDS, ActionTerms
from engine.store.database import Database

COLUMNS = ("ref", "kind", "security", "status", "ex_date", "pay_date", "booking_date", "terms", "entered_by",
           "decided_by", "source")  # fmt: skip
KIND_CHOICES = KINDS


def _terms(a: dict[str, Any]) -> str:
    """The terms that matter for the kind, in one short phrase (e.g. "2 for 1", "0.24 per share")."""
    parts = []
    if a.get("ratio_new") and a.get("ratio_old"):
        parts.append(f"{a['ratio_new']} for {a['ratio_old']}")
    if a.get("amount"):
        parts.append(f"{a['amount']} per share")
    if a.get("new_security"):
        parts.append(f"into {a['new_security']}")
    if a.get("allocation"):
        parts.append(f"basis {a['allocation']}")
    if a.get("new_symbol") or a.get("new_isin"):
        parts.append("as " + " ".join(x for x in (a.get("new_symbol"), a.get("new_isin")) if x))
    return ", ".join(parts)


def actions(database: Database) -> list[dict[str, Any]]:
    """Every corporate action, one plain row each (dates as ISO text)."""
    with database.session() as s:
        rows = list_actions(s)
    out = []
    for a in rows:
        row = {k: a.get(k) for k in COLUMNS if k != "terms"}
        row["terms"] = _terms(a)
        for k in ("ex_date", "pay_date", "booking_date"):
            v = row[k]
            row[k] = v.isoformat() if isinstance(v, date) else (v or "")
        row["decided_by"] = row["decided_by"] or ""
        row["source"] = row["source"] or ""
        out.append(row)
    return out


def enter(database: Database, terms: ActionTerms, username: str) -> str:
    """Enter one action by hand as `username`: pending until someone else approves it."""
    with database.transaction() as s:
        return entry.add(s, terms, username=username).ref


def decide(database: Database, ref: str, verb: str, username: str, reason: str | None = None) -> str:
    """Approve or reject a pending action as `username` (the engine refuses the one who entered it)."""
    with database.transaction() as s:
        if verb == "approve":
            return entry.approve(s, ref, username=username, reason=reason).status
        return entry.reject(s, ref, reason or "", username=username).status


def decimal_or_none(text: str) -> Decimal | None:
    t = text.strip().replace(",", "")
    return Decimal(t) if t else None
