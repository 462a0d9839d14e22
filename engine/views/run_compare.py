"""Read model of the PM's Compare dock: the stored runs to choose from, and two runs side by side,
account by account (engine.rebalance.compare, as `workstation rebalance compare`), with the drift and
tracking error before, each run's after, turnover and estimated tax, and the difference B - A."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select

from engine.rebalance.compare import compare, load_records
from engine.rebalance.tables import Proposal
from engine.store.database import Database

RUN_KEYS = ["batch_id", "label", "created_at", "created_by", "mode", "accounts"]
COMPARE_KEYS = [
    "account",
    "base_currency",
    "status_a",
    "status_b",
    "drift_before",
    "drift_a",
    "drift_b",
    "drift_diff",
    "te_before",
    "te_a",
    "te_b",
    "te_diff",
    "turnover_a",
    "turnover_b",
    "turnover_diff",
    "tax_a",
    "tax_b",
    "tax_diff",
    "trades_a",
    "trades_b",
    "trades_differing",
]


def runs(database: Database, limit: int = 200) -> pd.DataFrame:
    """Stored runs (batches), newest first: id, a label for a combo box, when, who, mode, accounts."""
    with database.session() as s:
        rows = s.execute(
            select(
                Proposal.batch_id,
                func.min(Proposal.created_at),
                func.min(Proposal.created_by),
                func.min(Proposal.mode),
                func.count(),
            )
            .group_by(Proposal.batch_id)
            .order_by(func.min(Proposal.created_at).desc(), Proposal.batch_id)
            .limit(limit)
        ).all()
    out = [
        {
            "batch_id": b,
            "label": f"{b[:8]} · {str(at)[:16]} · {mode} · {n} account(s) · {by}",
            "created_at": at,
            "created_by": by,
            "mode": mode,
            "accounts": int(n),
        }
        for b, at, by, mode, n in rows
    ]
    return pd.DataFrame(out, columns=RUN_KEYS)


def _diff(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else round(float(b) - float(a), 10)


def compare_runs(database: Database, ref_a: str, ref_b: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """(summary of engine.rebalance.compare, one row per account with both runs and B - A)."""
    with database.session() as s:
        label_a, recs_a = load_records(s, ref_a)
        label_b, recs_b = load_records(s, ref_b)
    out = compare(recs_a, recs_b)
    before: dict[str, tuple[Any, Any]] = {}
    for r in [*recs_a, *recs_b]:
        b = r.get("before") or {}
        before.setdefault(str(r["account"]), (b.get("max_drift"), b.get("tracking_error")))
    rows = []
    for row in out["accounts"]:
        a, b = row["a"] or {}, row["b"] or {}
        drift0, te0 = before.get(row["account"], (None, None))

        def pick(side: dict[str, Any], key: str) -> Any:
            return side.get(key) if side else None

        rows.append(
            {
                "account": row["account"],
                "base_currency": row["base_currency"] or "",
                "status_a": pick(a, "status") or "",
                "status_b": pick(b, "status") or "",
                "drift_before": drift0,
                "drift_a": pick(a, "max_drift_after"),
                "drift_b": pick(b, "max_drift_after"),
                "te_before": te0 if te0 is not None else pick(a, "te_before"),
                "te_a": pick(a, "te_after"),
                "te_b": pick(b, "te_after"),
                "turnover_a": pick(a, "turnover"),
                "turnover_b": pick(b, "turnover"),
                "tax_a": pick(a, "est_tax"),
                "tax_b": pick(b, "est_tax"),
                "trades_a": pick(a, "trades"),
                "trades_b": pick(b, "trades"),
                "trades_differing": len(row["trades_differing"]),
            }
        )
        r = rows[-1]
        for key in ("drift", "te", "turnover", "tax"):
            r[f"{key}_diff"] = _diff(r[f"{key}_a"], r[f"{key}_b"])
    summary = {**out["summary"], "label_a": label_a, "label_b": label_b}
    return summary, pd.DataFrame(rows, columns=COMPARE_KEYS)
