"""Every table that carries client data is exported by `client export` and covered by the
retention policy (a kind of record, or the book's current state). Walks the schema, so a new
table that refers to an account or a client fails here until it is placed."""

from __future__ import annotations

from sqlalchemy import Table

from engine.retention.export import EXPORTED
from engine.retention.kinds import CURRENT_STATE, KINDS
from engine.store.schema import metadata

CLIENT_COLUMNS = {"account_id", "account_code", "household_id", "client_id", "client_code", "account"}
ROOTS = {"accounts", "households"}


def _client_bearing() -> set[str]:
    """Tables naming a client (a client column, or a foreign key to such a table), transitively."""
    found = set(ROOTS)
    tables: list[Table] = list(metadata.sorted_tables)
    changed = True
    while changed:
        changed = False
        for t in tables:
            if t.name in found:
                continue
            names_client = any(c.name in CLIENT_COLUMNS for c in t.columns)
            refers = any(fk.column.table.name in found for fk in t.foreign_keys)
            if names_client or refers:
                found.add(t.name)
                changed = True
    return found


def test_the_walk_finds_the_known_client_tables() -> None:
    found = _client_bearing()
    assert {
        "accounts",
        "orders",
        "executions",
        "order_events",
        "tax_lots",
        "recon_breaks",
        "proposals",
    } <= found
    assert "securities" not in found and "users" not in found


def test_every_client_bearing_table_is_exported() -> None:
    missing = _client_bearing() - set(EXPORTED)
    assert not missing, (
        f"tables with client data not in `client export` (engine/retention/export.py EXPORTED): {sorted(missing)}"
    )


def test_every_client_bearing_table_has_a_retention_rule() -> None:
    covered = {t for k in KINDS for t in k.tables} | set(CURRENT_STATE)
    missing = _client_bearing() - covered
    assert not missing, (
        f"tables with client data and no retention kind (engine/retention/kinds.py KINDS) or "
        f"CURRENT_STATE entry: {sorted(missing)}"
    )


def test_exported_and_retained_tables_exist() -> None:
    assert set(EXPORTED) <= set(metadata.tables)
    assert {t for k in KINDS for t in k.tables} | set(CURRENT_STATE) <= set(metadata.tables)
