"""Read custodian files and store them: the one call `workstation reconcile load` and tests use."""

from __future__ import annotations

from pathlib import Path

from connectors.custodian.childread import read_statements
from connectors.custodian.profile import Profile, profile_for
from engine.reconcile.load import LoadResult, store_statement
from engine.store.database import Database


def load_files(
    database: Database,
    paths: list[Path],
    custodian: str,
    profile: Profile | None = None,
    loaded_by: str | None = None,
) -> list[LoadResult]:
    """Parse every file first (a semt.002 one in a child process meanwhile, see
    connectors.custodian.childread), then store them all in one transaction (all or nothing)."""
    prof = profile or profile_for(custodian)
    parsed = read_statements([(p, prof) for p in paths])
    with database.transaction() as session:
        return [store_statement(session, f.statement, f.name, f.sha256, loaded_by) for f in parsed]
