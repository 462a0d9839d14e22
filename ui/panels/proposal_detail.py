"""A proposal's detail line in the proposals dock (status, compliance, tax, drift before -> after),
and the summary of a what-if run (which stores no proposal to show)."""

from __future__ import annotations

from html import escape

from widgets.formatting import fmt_money


def _pct(side: object, key: str) -> str:
    v = side.get(key) if isinstance(side, dict) else None
    return f"{float(v) * 100:.2f}%" if isinstance(v, int | float) else "n/a"


def detail_html(payload: dict[str, object], n_trades: int) -> str:
    """The proposal's detail line: status, compliance, solver, trades, tax and cost, drift and
    tracking error before -> after with the rebalance's `drift_note` (why drift is left) beside
    the drift; a suspended account (stale data, a pending corporate action) leads with its reason."""
    before = payload.get("before") or {}
    after = payload.get("after") or {}
    ccy = str(payload.get("base_currency", ""))
    reason = str(payload.get("reason") or "")
    suspended = bool(payload.get("suspended")) or reason.startswith("suspended:")
    note = payload.get("drift_note")
    why = "pending corporate action" if "pending corporate action" in reason else "stale data"
    head = f"<b>Suspended</b> ({why}): {escape(reason.removeprefix('suspended: '))}<br>" if suspended else ""
    return (
        head
        + recheck_text(payload)
        + f"<b>{escape(str(payload.get('account', '')))}</b> · {payload.get('proposal_status', '')} · "
        f"{compliance_text(payload.get('compliance'))} · {style_text(payload)}solver {payload.get('status', '')}"
        f"{' (' + escape(reason) + ')' if reason and not suspended else ''} · "
        f"{n_trades} trade(s), turnover {float(payload.get('turnover', 0) or 0) * 100:.2f}%, "  # type: ignore[arg-type]
        f"est. tax {fmt_money(float(payload.get('est_tax', 0) or 0), ccy)}, "  # type: ignore[arg-type]
        f"est. cost {fmt_money(float(payload.get('est_cost', 0) or 0), ccy)}; "  # type: ignore[arg-type]
        f"max drift {_pct(before, 'max_drift')} → {_pct(after, 'max_drift')}"
        f"{' (<i>' + escape(str(note)) + '</i>)' if note else ''}, "
        f"tracking error {_pct(before, 'tracking_error')} → {_pct(after, 'tracking_error')}"
    )


def recheck_text(payload: dict[str, object]) -> str:
    """After a PM edited trades: whether the exact re-check passed (a line of its own), else ''."""
    check = payload.get("recheck")
    if not isinstance(check, dict):
        return ""
    edits = payload.get("edits") or []
    n = len(edits) if isinstance(edits, list) else 0
    by = f"{n} edit(s), last by {escape(str(check.get('by', '')))}"
    comp = check.get("compliance") if isinstance(check.get("compliance"), dict) else {}
    outcome = f"; compliance check {escape(str(comp.get('outcome')))}" if comp and comp.get("outcome") else ""
    if check.get("ok"):
        return f"<b>Edited</b> ({by}): re-check passed{outcome}<br>"
    found = "; ".join(escape(str(v)) for v in list(check.get("violations") or [])[:4])  # type: ignore[call-overload]
    return f"<b>Edited</b> ({by}): <b>re-check FAILED</b>, cannot be accepted: {found}{outcome}<br>"


def style_text(payload: dict[str, object]) -> str:
    """'style minmax (to edge) · ' for a run of a style other than standard, else ''."""
    style = str(payload.get("style") or "standard")
    if style == "standard":
        return ""
    to = f" (to {payload['minmax_to']})" if payload.get("minmax_to") else ""
    return f"style {escape(style)}{to} · "


def compliance_text(case: object) -> str:
    """The proposal's compliance case in words: its state and outcome and the rules that flagged it."""
    if not isinstance(case, dict):
        return "not checked by compliance yet"
    text = f"compliance {str(case.get('state', '')).replace('_', ' ')}"
    if case.get("outcome"):
        text += f" (check {case['outcome']})"
    rules = case.get("rules") or []
    if rules:
        text += ": " + ", ".join(f"<b>{code}</b> {outcome}" for code, outcome in rules[:6])
        text += f" +{len(rules) - 6} more" if len(rules) > 6 else ""
    return text


def what_if_html(summary: dict[str, object]) -> str:
    """A what-if run's summary (nothing was saved, so there are no proposal rows to show)."""
    s = summary
    n = int(s.get("accounts", 0) or 0)  # type: ignore[call-overload]
    return (
        f"<b>What-if</b> (nothing saved): {n:,} account(s) — {s.get('ok', 0)} ok, "
        f"{s.get('infeasible', 0)} infeasible, {s.get('failed', 0)} failed; "
        f"{s.get('trades', 0)} trade(s) (+{s.get('fx_trades', 0)} FX), mean turnover "
        f"{float(s.get('mean_turnover', 0) or 0) * 100:.2f}%, "  # type: ignore[arg-type]
        f"est. tax {fmt_money(float(s.get('est_tax_usd', 0) or 0), 'USD')}, "  # type: ignore[arg-type]
        f"est. cost {fmt_money(float(s.get('est_cost_usd', 0) or 0), 'USD')}"  # type: ignore[arg-type]
        + (" — cancelled" if s.get("cancelled") else "")
    )
