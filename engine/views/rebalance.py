"""Bulk rebalance from the desk (engine.rebalance.bulk, issue 4), and a proposal's detail.

The run goes through `run_bulk` exactly as `workstation rebalance run` does; progress events
come back through the job's progress signal and cancel maps onto the engine's CancelToken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from engine.rebalance.run_options import RunOptions, build_settings, run_styled
from engine.rebalance.settings import Mode
from engine.rebalance.tables import Proposal
from engine.store.database import Database

MODES = [m.value for m in Mode]  # cash-raise takes its amount and date from the run options
TRADE_KEYS = [
    "symbol",
    "side",
    "quantity",
    "est_price",
    "currency",
    "est_value_base",
    "gain",
    "est_tax",
    "reason",
]


@dataclass(frozen=True)
class Selection:
    """Which accounts: 'drifted' (out of band), 'all', 'model', 'household' or 'list' (codes)."""

    kind: str = "drifted"
    value: str = ""


def account_ids(database: Database, sel: Selection) -> tuple[list[int] | None, bool]:
    """(ids or None for all, drifted_only)."""
    from engine.rebalance.run_inputs import select_account_ids  # cvxpy: imported on first use, not at startup

    if sel.kind == "model":
        return select_account_ids(database, model=sel.value), False
    if sel.kind == "household":
        return select_account_ids(database, household=sel.value), False
    if sel.kind == "list":
        codes = [c.strip() for c in sel.value.replace(";", ",").split(",") if c.strip()]
        return select_account_ids(database, codes=codes), False
    return None, sel.kind == "drifted"


class Reporter(Protocol):
    """What a run reports to: `cancelled` is polled, `report(pct, text, batch_id)` never raises."""

    @property
    def cancelled(self) -> bool: ...

    def report(self, percent: int, text: str, batch_id: str | None = None) -> None: ...


def run(
    database: Database, sel: Selection, options: RunOptions, user: str, token: Reporter
) -> dict[str, Any]:
    """Run the bulk rebalance with the desk's run options (the settings built exactly as the CLI
    builds them); `token` takes progress (with the batch id) and says when to cancel. A what-if
    saves nothing; the summary carries the settings the run used and `what_if`."""
    from engine.rebalance.bulk import CancelToken as BulkCancel

    settings = build_settings(options)
    ids, drifted = account_ids(database, sel)
    cancel = BulkCancel()

    def progress(ev: Any) -> None:
        if token.cancelled:
            cancel.cancel()
            return
        pct = int(100 * ev.done / ev.total) if ev.total else 100
        eta = f", about {ev.eta_s:.0f} s left" if ev.eta_s is not None else ""
        token.report(pct, f"Rebalancing: {ev.done:,}/{ev.total:,} accounts{eta}", ev.batch_id)

    result = run_styled(
        database,
        settings,
        ids,
        drifted_only=drifted,
        executor="process",
        workers=2,
        on_progress=progress,
        cancel=cancel,
        user=user,
        save=not options.what_if,
    )
    return {
        "batch_id": result.batch_id,
        "what_if": options.what_if,
        "settings": settings,
        "accounts": len(result.records),
        "cancelled": result.cancelled,
        **result.summary,
    }


def proposal_trades(database: Database, proposal_id: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """The proposal's payload (solver status, tax, drift before/after...) and its trades, one row
    each. The payload also carries `proposal_status` (the row's status: ok, accepted, rejected...)
    and `compliance`: the approval case's state and outcome and the rules that did not pass, worst
    first, so the detail agrees with the row and names what flagged it."""
    from sqlalchemy import select

    from engine.compliance.tables import ApprovalCase, CheckResult

    rank = {"block": 0, "flag": 1, "warn": 2}
    with database.session() as s:
        p = s.get(Proposal, proposal_id)
        payload = dict(p.payload or {}) if p is not None else {}
        payload["proposal_status"] = p.status if p is not None else ""
        case = s.scalars(
            select(ApprovalCase).where(
                ApprovalCase.entity == "proposal", ApprovalCase.entity_id == str(proposal_id)
            )
        ).first()
        if case is not None:
            hits = s.execute(
                select(CheckResult.rule_code, CheckResult.outcome).where(
                    CheckResult.run_id == case.run_id, CheckResult.outcome != "pass"
                )
            ).all()
            worst: dict[str, str] = {}
            for code, outcome in hits:
                if code not in worst or rank.get(outcome, 9) < rank.get(worst[code], 9):
                    worst[code] = outcome
            payload["compliance"] = {
                "state": case.state,
                "outcome": case.outcome or "",
                "rules": sorted(worst.items(), key=lambda kv: (rank.get(kv[1], 9), kv[0])),
            }
    trades = pd.DataFrame(
        [{k: t.get(k) for k in TRADE_KEYS} for t in payload.get("trades", [])], columns=TRADE_KEYS
    )
    trades["key"] = range(len(trades))
    trades["base_currency"] = payload.get("base_currency", "")
    return payload, trades
