"""The record kinds a retention policy covers: their tables, the date their age is counted from,
what keeps them (still open), and the default period.

Seven years (84 months) by default: SEC 17a-4 asks for six years for blotters and order tickets,
MiFID II five (up to seven at the regulator's request), and tax records are kept about seven. The
shared desk's change feed only notifies other desks (every change is also in the audit log):
one year.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its code, the tables it removes, how its age is counted, what keeps it."""

    code: str
    title: str
    default_months: int
    tables: tuple[str, ...]
    age: str
    kept_while: str


KINDS: tuple[RecordKind, ...] = (
    RecordKind(
        "orders",
        "orders (with their ClOrdIDs, allocations, FIX allocation instructions, rotation log and TCA marks)",
        84,
        (
            "orders", "oms_cl_ord_ids", "oms_allocations", "oms_alloc_instructions", "oms_rotation_log",
            "oms_order_marks",
        ),
        "last change (updated_at)",
        "not final (a live GTC or GTD order, held, released, at the broker); a block while a child is kept; "
        "its executions or events are not yet past their own periods",
    ),
    RecordKind(
        "executions", "execution reports", 84, ("executions",), "transact time",
        "their order is kept (an order's executions go with it)",
    ),
    RecordKind(
        "order_events", "order state events", 84, ("order_events",), "event time",
        "their order is kept (an order's events go with it)",
    ),
    RecordKind(
        "audit", "audit log entries", 84, ("audit_log",), "entry time",
        "a later entry is kept (only the oldest part of the chain goes, under a signed checkpoint); "
        "it stops at the first entry about an open order, proposal, case, break or adjustment",
    ),
    RecordKind(
        "approval_cases", "compliance approval cases and decisions", 84,
        ("compliance_approvals", "compliance_approval_decisions"), "last change (updated_at)",
        "open: draft, checked, pending_approval or approved (not yet released)",
    ),
    RecordKind(
        "compliance_checks", "pre-trade check results", 84, ("compliance_check_results",), "check time",
        "never held back",
    ),
    RecordKind(
        "proposals", "rebalance proposals and their exception-queue entries", 84,
        ("proposals", "proposal_exceptions"), "last change (updated_at)",
        "open (ok or accepted: awaiting review or release), or a kept order came from it",
    ),
    RecordKind(
        "transitions", "transition plans and their steps", 84, ("transition_plans", "transition_steps"),
        "last change (updated_at)", "always kept for now: no purge rule yet (a plan is small)",
    ),
    RecordKind(
        "reconcile_statements", "custodian statements (positions, cash) and reconciliation runs", 84,
        ("recon_statements", "recon_positions", "recon_cash", "recon_runs"), "loaded (run) time",
        "an unresolved break of the custodian was opened on or before the statement's date",
    ),
    RecordKind(
        "reconcile_breaks", "reconciliation breaks, comments and book adjustments", 84,
        ("recon_breaks", "recon_comments", "recon_adjustments"), "resolution time (else last seen)",
        "not resolved, or an adjustment is still proposed",
    ),
    RecordKind(
        "ledger", "ledger history: bookings, cash movements, realised gains, custodian activity lines, daily values", 84,
        ("bookings", "cash_movements", "realized_gains", "activity_lines", "account_daily_values"),
        "trade date (the stored daily values: their day)",
        "a cash movement of the booking is not settled (lots and cash balances, the current holdings, "
        "are never purged)",
    ),
    RecordKind(
        "statements", "client statements generated (account or household, quarter, file, SHA-256)", 84,
        ("client_statements",), "the end of the quarter the statement reports", "never held back",
    ),
    RecordKind(
        "desk_feed", "the shared desk's change feed", 12, ("change_log",), "change time", "never held back"
    ),
    RecordKind(
        "fix_files", "FIX message logs and stores on disk", 84, (), "file modification time",
        "modified within the period (an active session writes its files every day)",
    ),
)  # fmt: skip
BY_CODE: dict[str, RecordKind] = {k.code: k for k in KINDS}

CURRENT_STATE: dict[str, str] = {
    "accounts": "the client's account: kept while the account exists",
    "households": "the client: kept while it exists",
    "tax_lots": "current holdings",
    "cash_balances": "current cash",
    "account_exclusions": "the account's current restrictions",
    "compliance_list_entries": "restricted and watch lists in force (effective-dated)",
    "compliance_desk_accounts": "which desk an account is on",
    "household_groups": "the household's rebalancing group in force (target, tax budget)",
    "account_tax_budgets": "the account's annual tax budget in force",
}
"""Client-bearing tables no purge touches: they are the book's current state, not history."""
