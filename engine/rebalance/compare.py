"""Two rebalance runs side by side, account by account: turnover, tax, drift and tracking error
after, and the trades that differ. A run is a stored batch (its id or a 6+ character prefix) or a
`--json` file written by `workstation rebalance ... --json FILE` (a what-if saves nothing else).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.rebalance.batches import resolve_batch
from engine.rebalance.tables import Proposal

TOL_QTY = 1e-9


def load_records(session: Session, ref: str) -> tuple[str, list[dict[str, Any]]]:
    """(label, records) of a run: a JSON file (a list of records) if `ref` names one, else a batch."""
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise WorkstationError(f"run {ref!r}: no such file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkstationError(f"run {ref!r}: not a JSON file of records ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) and "account" in r for r in data):
            raise WorkstationError(f"run {ref!r}: expected a JSON array of records with an 'account' each")
        return str(path), data
    batch = resolve_batch(session, ref)
    rows = session.scalars(select(Proposal.payload).where(Proposal.batch_id == batch).order_by(Proposal.id))
    return batch, [dict(r) for r in rows]


def _figures(r: dict[str, Any] | None) -> dict[str, Any] | None:
    if r is None:
        return None
    ok = r.get("status") == "ok"
    after = (r.get("after") if ok else r.get("before")) or {}
    eff = (r.get("effective_drift") or {}).get("after" if ok else "before") or {}
    return {
        "status": r.get("status"),
        "rung": r.get("rung"),
        "turnover": float(r.get("turnover") or 0.0) if ok else 0.0,
        "est_tax": float(r.get("est_tax") or 0.0) if ok else 0.0,
        "est_cost": float(r.get("est_cost") or 0.0) if ok else 0.0,
        "te_before": (r.get("before") or {}).get("tracking_error"),
        "te_after": after.get("tracking_error"),
        "max_drift_after": after.get("max_drift"),
        "effective_drift_after": eff.get("max"),
        "trades": len(r.get("trades") or []) if ok else 0,
    }


def _trades(r: dict[str, Any] | None) -> dict[tuple[str, str], float]:
    if r is None or r.get("status") != "ok":
        return {}
    out: dict[tuple[str, str], float] = {}
    for t in r.get("trades") or []:
        key = (str(t["symbol"]), str(t["side"]))
        out[key] = out.get(key, 0.0) + float(t["quantity"])
    return out


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Account by account (union of both runs, sorted by account code) and the totals."""
    ra = {str(r["account"]): r for r in a}
    rb = {str(r["account"]): r for r in b}
    rows: list[dict[str, Any]] = []
    for code in sorted(set(ra) | set(rb)):
        fa, fb = _figures(ra.get(code)), _figures(rb.get(code))
        ta, tb = _trades(ra.get(code)), _trades(rb.get(code))
        differing = [
            {"symbol": s, "side": side, "a": ta.get((s, side), 0.0), "b": tb.get((s, side), 0.0)}
            for s, side in sorted(set(ta) | set(tb))
            if abs(ta.get((s, side), 0.0) - tb.get((s, side), 0.0)) > TOL_QTY
        ]
        base = (ra.get(code) or rb.get(code) or {}).get("base_currency")
        rows.append({"account": code, "base_currency": base, "a": fa, "b": fb,
                     "trades_differing": differing, "same": not differing and fa is not None and fb is not None
                     and fa["status"] == fb["status"]})  # fmt: skip

    def total(side: str, key: str) -> float:
        return round(sum(float((r[side] or {}).get(key) or 0.0) for r in rows), 8)

    def mean(side: str, key: str) -> float | None:
        xs = [float(r[side][key]) for r in rows if r[side] and r[side].get(key) is not None]
        return round(sum(xs) / len(xs), 8) if xs else None

    summary: dict[str, Any] = {
        side: {
            "accounts": sum(1 for r in rows if r[side]),
            "ok": sum(1 for r in rows if r[side] and r[side]["status"] == "ok"),
            "mean_turnover": mean(side, "turnover"),
            "est_tax_by_currency": _by_ccy(rows, side, "est_tax"),
            "mean_te_after": mean(side, "te_after"),
            "trades": int(total(side, "trades")),
        }
        for side in ("a", "b")
    }
    summary["accounts_differing"] = sum(1 for r in rows if not r["same"])
    summary["only_in_a"] = sorted(r["account"] for r in rows if r["b"] is None)
    summary["only_in_b"] = sorted(r["account"] for r in rows if r["a"] is None)
    return {"summary": summary, "accounts": rows}


def _by_ccy(rows: list[dict[str, Any]], side: str, key: str) -> dict[str, float]:
    """Amounts summed per base currency (never across currencies)."""
    out: dict[str, float] = {}
    for r in rows:
        if r[side]:
            ccy = str(r["base_currency"])
            out[ccy] = round(out.get(ccy, 0.0) + float(r[side].get(key) or 0.0), 2)
    return dict(sorted(out.items()))
