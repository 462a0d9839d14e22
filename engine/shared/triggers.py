"""Database triggers that write change_log rows (and wake listeners) for every tracked change.

Triggers run inside the changing transaction, so a change and its log row commit or roll back
together, and Core bulk statements are caught as well as ORM flushes. On PostgreSQL each
trigger also calls pg_notify with an empty payload: PostgreSQL delivers it only on commit and
folds identical notifications of one transaction into one, so a bulk route wakes each listener
once, and the listener reads what changed from change_log. SQLite has no NOTIFY: listeners poll.

`who` on PostgreSQL is the transaction's `workstation.user` setting when set (see
engine.shared.actor), else a column of the row (order_events.username, a rule's changed_by, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

CHANNEL = "workstation_changes"


@dataclass(frozen=True)
class Tracked:
    """One tracked (table, event): the change's type, action, ids, state and who as SQL on NEW."""

    table: str
    event: str  # INSERT or UPDATE
    type: str
    action: str
    ids: tuple[tuple[str, str], ...]
    state: str
    who: str

    @property
    def name(self) -> str:
        return f"ws_chg_{self.table}_{self.event.lower()[:3]}"


_DECIDER = "(SELECT d.username FROM compliance_approval_decisions d WHERE d.approval_id = NEW.id ORDER BY d.id DESC LIMIT 1)"
_APPROVAL_WHO = f"CASE WHEN NEW.state IN ('approved', 'rejected') THEN coalesce({_DECIDER}, NEW.created_by) ELSE NEW.created_by END"

TRACKED: tuple[Tracked, ...] = (
    Tracked(
        "order_events", "INSERT", "order", "NEW.kind",
        (("order", "NEW.order_id"), ("cl_ord_id", "(SELECT o.cl_ord_id FROM orders o WHERE o.id = NEW.order_id)")),
        "NEW.status_to", "NEW.username",
    ),
    Tracked(
        "executions", "INSERT", "fill", "CASE WHEN NEW.exec_type = 'F' THEN 'fill' ELSE 'exec_' || NEW.exec_type END",
        (("execution", "NEW.id"), ("order", "NEW.order_id"), ("exec_id", "NEW.exec_id")),
        "NEW.ord_status", "'broker:' || NEW.broker",
    ),
    Tracked(
        "proposals", "INSERT", "proposal", "'created'",
        (("proposal", "NEW.id"), ("account", "NEW.account_id"), ("batch", "NEW.batch_id")),
        "NEW.status", "NEW.created_by",
    ),
    Tracked(
        "proposals", "UPDATE", "proposal", "'updated'",
        (("proposal", "NEW.id"), ("account", "NEW.account_id"), ("batch", "NEW.batch_id")),
        "NEW.status", "NEW.created_by",
    ),
    Tracked(
        "compliance_approvals", "INSERT", "approval", "'opened'",
        (("approval", "NEW.id"), ("entity", "NEW.entity"), ("entity_id", "NEW.entity_id")),
        "NEW.state", "NEW.created_by",
    ),
    Tracked(
        "compliance_approvals", "UPDATE", "approval", "NEW.state",
        (("approval", "NEW.id"), ("entity", "NEW.entity"), ("entity_id", "NEW.entity_id")),
        "NEW.state", _APPROVAL_WHO,
    ),
    Tracked(
        "compliance_kill_switches", "INSERT", "kill_switch", "'engaged'",
        (("kill_switch", "NEW.id"), ("scope", "NEW.scope"), ("scope_key", "NEW.scope_key")),
        "'engaged'", "NEW.engaged_by",
    ),
    Tracked(
        "compliance_kill_switches", "UPDATE", "kill_switch",
        "CASE WHEN NEW.released_at IS NULL THEN 'engaged' ELSE 'released' END",
        (("kill_switch", "NEW.id"), ("scope", "NEW.scope"), ("scope_key", "NEW.scope_key")),
        "CASE WHEN NEW.released_at IS NULL THEN 'engaged' ELSE 'released' END",
        "coalesce(NEW.released_by, NEW.engaged_by)",
    ),
    Tracked(
        "compliance_rules", "INSERT", "rule", "CASE WHEN NEW.retired THEN 'retired' ELSE 'saved' END",
        (("rule", "NEW.id"), ("code", "NEW.code"), ("version", "NEW.version")),
        "NEW.severity", "NEW.changed_by",
    ),
    Tracked(
        "compliance_rules", "UPDATE", "rule", "'updated'",
        (("rule", "NEW.id"), ("code", "NEW.code"), ("version", "NEW.version")),
        "NEW.severity", "NEW.changed_by",
    ),
)  # fmt: skip


def _pairs(t: Tracked) -> str:
    return ", ".join(f"'{k}', {v}" for k, v in t.ids)


def postgres_ddl(t: Tracked) -> list[str]:
    who = f"coalesce(nullif(current_setting('workstation.user', true), ''), {t.who})"
    body = (
        "INSERT INTO change_log (at, type, action, ids, state, who) VALUES "
        f"(clock_timestamp(), '{t.type}', {t.action}, json_build_object({_pairs(t)})::text, "
        f"({t.state})::text, {who});\n"
        f"  PERFORM pg_notify('{CHANNEL}', '');"
    )
    return [
        f"CREATE OR REPLACE FUNCTION {t.name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n  {body}\n  RETURN NULL;\nEND $$",
        f"DROP TRIGGER IF EXISTS {t.name} ON {t.table}",
        f"CREATE TRIGGER {t.name} AFTER {t.event} ON {t.table} FOR EACH ROW EXECUTE FUNCTION {t.name}()",
    ]


def sqlite_ddl(t: Tracked) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {t.name} AFTER {t.event} ON {t.table} BEGIN "
        "INSERT INTO change_log (at, type, action, ids, state, who) VALUES "
        f"(strftime('%Y-%m-%d %H:%M:%f', 'now'), '{t.type}', {t.action}, json_object({_pairs(t)}), "
        f"{t.state}, {t.who}); END"
    ]


def ensure_triggers(conn: Connection) -> int:
    """Create (or replace) every change-feed trigger; idempotent. Returns how many."""
    make = postgres_ddl if conn.dialect.name == "postgresql" else sqlite_ddl
    for t in TRACKED:
        for sql in make(t):
            conn.exec_driver_sql(sql)
    return len(TRACKED)


def drop_triggers(conn: Connection) -> None:
    """Remove every change-feed trigger (and its function on PostgreSQL)."""
    pg = conn.dialect.name == "postgresql"
    for t in TRACKED:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t.name}" + (f" ON {t.table}" if pg else ""))
        if pg:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {t.name}()")
