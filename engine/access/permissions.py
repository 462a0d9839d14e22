"""What each role may do. Roles are a closed set (engine.model.enums.Role); so is this table.

Segregation of duties lives here and in the services: a trader cannot change a model, a PM
cannot release a flagged order, and approving is for compliance only (never one's own trade).
"""

from __future__ import annotations

from enum import StrEnum

from engine.model.enums import Role


class Permission(StrEnum):
    CHECK_RUN = "compliance.check"
    BOOK_CHECK = "compliance.book_check"
    RULES_EDIT = "compliance.rules.edit"
    LISTS_EDIT = "compliance.lists.edit"
    DESKS_EDIT = "compliance.desks.edit"
    APPROVE = "approvals.decide"
    OVERRIDE = "approvals.override"
    SUBMIT = "trades.submit"
    RELEASE = "orders.release"
    RELEASE_FLAGGED = "orders.release_flagged"
    ORDERS_CREATE = "orders.create"
    ORDERS_ROUTE = "orders.route"
    KILL_SWITCH = "killswitch.use"
    MODELS_EDIT = "models.edit"
    BOOK_IMPORT = "book.import"
    REBALANCE_RUN = "rebalance.run"
    REBALANCE_SIGN_OFF = "rebalance.exceptions.sign_off"
    """Sign off (or deny) a proposal in the exception queue: a PM other than its creator."""
    USERS_ADMIN = "users.admin"
    AUDIT_READ = "audit.read"
    RECONCILE_LOAD = "reconcile.load"
    RECONCILE_RUN = "reconcile.run"
    RECONCILE_WORK = "reconcile.work"
    """Assign, comment on and resolve breaks."""
    RECONCILE_ADJUST = "reconcile.adjust"
    """Propose a book adjustment for a break (a second person approves it: RECONCILE_APPROVE)."""
    RECONCILE_APPROVE = "reconcile.approve"
    ACTIVITY_LOAD = "activity.load"
    """Load a custodian's daily activity (trades away, income, fees, flows, transfers) into the ledger."""
    CORPORATE_LOAD = "corporate.load"
    """Load corporate actions from a data vendor's file."""
    BOOKINGS_ENTER = "bookings.enter"
    """Enter a manual corporate action or cash flow (a second person approves it: BOOKINGS_APPROVE)."""
    BOOKINGS_APPROVE = "bookings.approve"
    DAY_CLOSE = "day.close"
    """Run the day cycle (load the inbox, book, settle, revalue, store daily values, reconcile, scan)."""
    RETENTION_POLICY = "retention.policy"
    """Change how long a kind of record is kept (engine.retention.policy)."""
    RETENTION_PURGE = "retention.purge"
    """Delete records past their retention period (engine.retention.purge)."""
    CLIENT_EXPORT = "client.export"
    """Export everything the book holds about one client (engine.retention.export)."""
    TCA_READ = "tca.read"
    """Read transaction cost analysis and the best-execution report (engine.tca)."""
    STATEMENTS = "statements.generate"
    """Generate client statements (PDF) from the book (engine.statements)."""


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PORTFOLIO_MANAGER: frozenset(
        {
            P.CHECK_RUN,
            P.BOOK_CHECK,
            P.SUBMIT,
            P.RELEASE,
            P.ORDERS_CREATE,
            P.MODELS_EDIT,
            P.REBALANCE_RUN,
            P.REBALANCE_SIGN_OFF,
        }
    ),
    Role.TRADER: frozenset(
        {P.CHECK_RUN, P.SUBMIT, P.RELEASE, P.RELEASE_FLAGGED, P.ORDERS_CREATE, P.ORDERS_ROUTE, P.TCA_READ}
    ),
    Role.COMPLIANCE: frozenset(
        {
            P.CHECK_RUN,
            P.BOOK_CHECK,
            P.RULES_EDIT,
            P.LISTS_EDIT,
            P.DESKS_EDIT,
            P.APPROVE,
            P.OVERRIDE,
            P.RELEASE_FLAGGED,
            P.KILL_SWITCH,
            P.AUDIT_READ,
            P.RECONCILE_LOAD,
            P.RECONCILE_RUN,
            P.RECONCILE_WORK,
            P.RECONCILE_ADJUST,
            P.RECONCILE_APPROVE,
            P.CLIENT_EXPORT,
            P.TCA_READ,
            P.STATEMENTS,
        }
    ),
    Role.ADMIN: frozenset(
        {
            P.CHECK_RUN,
            P.BOOK_CHECK,
            P.RULES_EDIT,
            P.DESKS_EDIT,
            P.KILL_SWITCH,
            P.MODELS_EDIT,
            P.BOOK_IMPORT,
            P.USERS_ADMIN,
            P.AUDIT_READ,
            P.RECONCILE_LOAD,
            P.RECONCILE_RUN,
            P.RECONCILE_WORK,
            P.RECONCILE_ADJUST,
            P.ACTIVITY_LOAD,
            P.CORPORATE_LOAD,
            P.BOOKINGS_ENTER,
            P.DAY_CLOSE,
            P.RETENTION_POLICY,
            P.RETENTION_PURGE,
            P.CLIENT_EXPORT,
            P.TCA_READ,
            P.STATEMENTS,
        }
    ),
    Role.OPERATIONS: frozenset(
        {
            P.BOOK_IMPORT,
            P.AUDIT_READ,
            P.RECONCILE_LOAD,
            P.RECONCILE_RUN,
            P.RECONCILE_WORK,
            P.RECONCILE_ADJUST,
            P.RECONCILE_APPROVE,
            P.ACTIVITY_LOAD,
            P.CORPORATE_LOAD,
            P.BOOKINGS_ENTER,
            P.BOOKINGS_APPROVE,
            P.DAY_CLOSE,
            P.STATEMENTS,
        }
    ),
}


def permissions_of(role: str) -> frozenset[Permission]:
    """The permissions of a role value; an unknown role has none."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
