"""The compliance approval queue (engine.compliance.approvals, issue 5) as the queue panel shows it.

Deciding goes through the service, so segregation of duties, reason codes, the two-approver
override of hard blocks and the audit trail are the engine's, never re-implemented here.
"""

from __future__ import annotations

import pandas as pd

from engine.compliance import approvals
from engine.store.database import Database

QUEUE_KEYS = [
    "id", "entity", "entity_id", "status", "outcome", "hard_block", "created_by", "approvals",
    "orders", "opened_at", "summary",
]  # fmt: skip
REASON_CODES = approvals.REASON_CODES


def _summary(terms: list[dict[str, object]]) -> str:
    parts = [
        f"{t.get('side', '')} {t.get('quantity', '')} {t.get('symbol', '')} ({t.get('account', '')})"
        for t in terms[:3]
    ]
    return "; ".join(parts) + (f" … +{len(terms) - 3}" if len(terms) > 3 else "")


def queue(database: Database) -> pd.DataFrame:
    """Cases waiting for a reviewer, oldest first."""
    with database.session() as s:
        rows = approvals.queue(s)
    out = [
        (
            r["id"],
            r["entity"],
            str(r["entity_id"]),
            approvals.PENDING,
            r["outcome"] or "",
            "hard block" if r["hard_block"] else "",
            r["created_by"],
            ", ".join(r["approvals"]),
            len(r["terms"] or []),
            r["opened_at"],
            _summary(r["terms"] or []),
        )
        for r in rows
    ]
    return pd.DataFrame(out, columns=QUEUE_KEYS)


def decide(
    database: Database, username: str, case_id: int, decision: str, reason_code: str, comment: str
) -> str:
    """Approve or reject one case as `username`; returns the case's new state."""
    with database.transaction() as s:
        view = approvals.decide(s, username, case_id, decision, reason_code, comment)
    return str(view.state)


def submit_proposals(database: Database, username: str, proposal_ids: list[int]) -> list[str]:
    """Send proposals to the compliance check; each ends released (passed) or pending approval."""
    states = []
    for pid in proposal_ids:
        with database.transaction() as s:
            view = approvals.submit(s, username, "proposal", pid)
        states.append(str(view.state))
    return states


RULE_KEYS = [
    "key", "account", "symbol", "side", "quantity", "rule", "version", "severity", "outcome",
    "limit", "before", "after", "message",
]  # fmt: skip


def case_rules(database: Database, case_id: int) -> tuple[dict[str, object], pd.DataFrame]:
    """One case's last check, rule by rule (worst first), with each rule's severity and its decisions.

    Reads `approvals.case_detail`; severity comes from the rule version that gave the result.
    """
    from sqlalchemy import select

    from engine.compliance.tables import RuleVersion

    with database.session() as s:
        detail = approvals.case_detail(s, case_id)
        severity = {
            (code, version): sev
            for code, version, sev in s.execute(
                select(RuleVersion.code, RuleVersion.version, RuleVersion.severity)
            ).all()
        }
    rank = {"block": 0, "flag": 1, "warn": 2, "pass": 3}
    rows = [
        {
            **r,
            "quantity": float(r["quantity"]) if r["quantity"] is not None else None,
            "severity": severity.get((r["rule"], r["version"]), ""),
        }
        for r in detail["results"]
    ]
    rows.sort(key=lambda r: (rank.get(str(r["outcome"]), 9), str(r["rule"]), str(r["symbol"])))
    frame = pd.DataFrame(rows, columns=[k for k in RULE_KEYS if k != "key"])
    frame.insert(0, "key", range(len(frame)))
    return detail, frame
