"""Reconciliation breaks for the compliance desk: the list and drill-down from
engine.reconcile.queries, and working a break (assign, status, comment, resolve) through
engine.reconcile.workflow, each change in one transaction (audited by the workflow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.store.database import Database

if TYPE_CHECKING:
    from engine.reconcile.queries import BreakDetail

BREAK_KEYS = [
    "id", "custodian", "account", "security", "currency", "type", "status", "owner", "opened_on",
    "last_seen", "age", "book", "statement", "difference", "explanation", "resolution",
]  # fmt: skip
RESOLUTIONS = ("custodian_error", "timing")


def breaks(database: Database) -> pd.DataFrame:
    """Every break in every status (resolved too: the panel filters), one row each."""
    from engine.reconcile.queries import list_breaks  # loaded on first use, not at startup
    from engine.reconcile.workflow import STATUSES

    with database.session() as s:
        rows = list_breaks(s, statuses=STATUSES)
    out = []
    for r in rows:
        d = r.as_dict()
        for k in ("book", "statement", "difference"):
            d[k] = None if d[k] is None else float(d[k])
        d["owner"] = d["owner"] or ""
        d["explanation"] = d["explanation"] or ""
        d["resolution"] = d["resolution"] or ""
        d["security"] = d["security"] or ""
        d["currency"] = d["currency"] or ""
        out.append({k: d[k] for k in BREAK_KEYS})
    return pd.DataFrame(out, columns=BREAK_KEYS)


def detail(database: Database, break_id: int) -> BreakDetail:
    from engine.reconcile.queries import break_detail

    with database.session() as s:
        return break_detail(s, break_id)


def work(database: Database, username: str, break_ids: list[int], action: str, value: str = "") -> int:
    """Apply one workflow action to every break, all or none: assign (value = owner), investigate,
    reopen, comment (value = text), resolve_custodian_error / resolve_timing (value = note)."""

    with database.transaction() as s:
        for bid in break_ids:
            _one(s, username, bid, action, value)
    return len(break_ids)


def _one(s: Any, username: str, bid: int, action: str, value: str) -> None:
    from engine.reconcile import workflow

    if action == "assign":
        workflow.assign(s, bid, value or username, username)
    elif action == "investigate":
        workflow.set_status(s, bid, "investigating", username)
    elif action == "reopen":
        workflow.set_status(s, bid, "open", username)
    elif action == "comment":
        workflow.comment(s, bid, username, value)
    elif action.startswith("resolve_") and action[8:] in RESOLUTIONS:
        workflow.resolve(s, bid, action[8:], username, value or None)
    else:
        raise ValueError(f"unknown break action {action!r}")
