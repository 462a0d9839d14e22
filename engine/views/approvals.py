"""The compliance approval queue (engine.compliance.approvals, issue 5) as the queue panel shows it.

Deciding goes through the service, so segregation of duties, reason codes, the two-approver
override of hard blocks and the audit trail are the engine's, never re-implemented here.
"""

from __future__ import annotations

import math

import pandas as pd

from engine.compliance import approvals
from engine.reports import numbers
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


def queue(database: Database, ids: list[int] | None = None) -> pd.DataFrame:
    """Cases waiting for a reviewer, oldest first; with `ids`, those cases whatever their state
    (a keyed re-read: a case decided meanwhile comes back with its new `status` and leaves the
    desk's queue). Two queries in all, not one per case for its approvals."""
    from sqlalchemy import select

    from engine.compliance.tables import ApprovalCase, ApprovalDecision

    where = ApprovalCase.state == approvals.PENDING if ids is None else ApprovalCase.id.in_(ids)
    with database.session() as s:
        cases = list(s.scalars(select(ApprovalCase).where(where).order_by(ApprovalCase.opened_at)))
        approvers: dict[tuple[int, str | None], list[str]] = {}
        q = (
            select(ApprovalDecision.approval_id, ApprovalDecision.run_id, ApprovalDecision.username)
            .join(ApprovalCase, ApprovalCase.id == ApprovalDecision.approval_id)
            .where(where, ApprovalDecision.decision == "approve")
            .order_by(ApprovalDecision.id)
        )
        for case_id, run_id, user in s.execute(q).all():
            approvers.setdefault((case_id, run_id), []).append(user)
        out = [
            (
                c.id,
                c.entity,
                str(c.entity_id),
                c.state,
                c.outcome or "",
                "hard block" if c.hard_block else "",
                c.created_by,
                ", ".join(approvers.get((c.id, c.run_id), [])),
                len(c.terms or []),
                c.opened_at,
                _summary(c.terms or []),
            )
            for c in cases
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
    "limit", "before", "after", "message", "unit", "limit_text", "before_text", "after_text",
]  # fmt: skip

PCT, QTY, SCORE, COUNT, DAYS = "pct", "qty", "score", "count", "days"
BASE, LOCAL, PARAM = "money:base", "money:local", "money:param"
"""Money in the account's base currency, in the security's currency, or in the rule's `currency`."""
RULE_UNITS: dict[str, tuple[str, str, str]] = {
    # template: units of (limit, before, after), as the rule's own sentence states them
    "security_weight_max": (PCT, PCT, PCT),
    "issuer_weight_max": (PCT, PCT, PCT),
    "sector_weight_max": (PCT, PCT, PCT),
    "country_weight_max": (PCT, PCT, PCT),
    "currency_weight_max": (PCT, PCT, PCT),
    "min_cash": (PCT, PCT, PCT),
    "adv_max": (PCT, PCT, PCT),  # order quantity as a share of 20-day average volume
    "fat_finger": (PCT, LOCAL, PCT),  # collar; last price; distance of the limit from it
    "esg_exclusion": (BASE, BASE, BASE),
    "restricted_list": (BASE, BASE, BASE),
    "market_restriction": (BASE, BASE, BASE),
    "client_restriction": (BASE, BASE, BASE),
    "esg_min_score": (SCORE, SCORE, SCORE),
    "no_short": (QTY, QTY, QTY),
    "order_quantity_max": (QTY, QTY, QTY),
    "cash_overdraft": (LOCAL, LOCAL, LOCAL),
    "order_notional_max": (PARAM, PARAM, PARAM),
    "daily_notional_account": (PARAM, PARAM, PARAM),
    "daily_notional_desk": (PARAM, PARAM, PARAM),
    "duplicate_order": (COUNT, COUNT, COUNT),
    "wash_sale": (DAYS, BASE, BASE),  # the window; the loss
    "kyc_sell_only": (DAYS, DAYS, DAYS),  # days past the review date (negative: still ahead)
}


def figure(unit: str, value: object, base: str, local: str, param: str) -> str:
    """One limit / before / after figure in its unit: 16.32%, 1,234 JPY, 93 days, 5,000."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    v = float(value)  # type: ignore[arg-type]
    if unit == PCT:
        return numbers.fmt_percent(v)
    if unit.startswith("money:"):
        ccy = {BASE: base, LOCAL: local, PARAM: param}.get(unit, "")
        return f"{numbers.fmt_money(v, ccy)} {ccy}" if ccy else numbers.fmt_money(v, "USD")
    if unit == QTY:
        return numbers.fmt_quantity(v)
    if unit == SCORE:
        return f"{v:,.1f}"
    if unit == COUNT:
        return f"{v:,.0f}"
    if unit == DAYS:
        return f"{v:,.0f} day{'' if abs(v) == 1 else 's'}"
    return f"{v:,.6f}"  # a template without a stated unit: the raw figure


def case_rules(database: Database, case_id: int) -> tuple[dict[str, object], pd.DataFrame]:
    """One case's last check, rule by rule (worst first), with each rule's severity and its decisions.

    Reads `approvals.case_detail`; severity comes from the rule version that gave the result, and
    limit, before and after are also given as text in the rule's own unit (RULE_UNITS: percent,
    money with its currency, quantity, score, count, days), as its sentence states them.
    """
    from sqlalchemy import select

    from engine.compliance.tables import RuleVersion
    from engine.store.accounts import Account
    from engine.store.reference import Security

    with database.session() as s:
        detail = approvals.case_detail(s, case_id)
        versions = {
            (code, version): (sev, template, params or {})
            for code, version, sev, template, params in s.execute(
                select(
                    RuleVersion.code,
                    RuleVersion.version,
                    RuleVersion.severity,
                    RuleVersion.template,
                    RuleVersion.params,
                )
            ).all()
        }
        codes = {str(r["account"]) for r in detail["results"]}
        symbols = {str(r["symbol"]) for r in detail["results"]}
        base_of = dict(
            s.execute(select(Account.code, Account.base_currency).where(Account.code.in_(codes))).all()
        )
        ccy_of = dict(
            s.execute(select(Security.symbol, Security.currency).where(Security.symbol.in_(symbols))).all()
        )
    rank = {"block": 0, "flag": 1, "warn": 2, "pass": 3}
    rows = []
    for r in detail["results"]:
        sev, template, params = versions.get((r["rule"], r["version"]), ("", "", {}))
        units = RULE_UNITS.get(str(template), ("", "", ""))
        ccys = (base_of.get(r["account"], ""), ccy_of.get(r["symbol"], ""), str(params.get("currency", "")))
        rows.append(
            {
                **r,
                "quantity": float(r["quantity"]) if r["quantity"] is not None else None,
                "severity": sev,
                "unit": units[0],
                **{f"{k}_text": figure(u, r[k], *ccys) for k, u in zip(("limit", "before", "after"), units)},
            }
        )
    rows.sort(key=lambda r: (rank.get(str(r["outcome"]), 9), str(r["rule"]), str(r["symbol"])))
    frame = pd.DataFrame(rows, columns=[k for k in RULE_KEYS if k != "key"])
    frame.insert(0, "key", range(len(frame)))
    return detail, frame
