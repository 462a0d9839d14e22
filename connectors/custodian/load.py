"""Read custodian files and store them: the one call `workstation reconcile load` and tests use."""

from __future__ import annotations

from pathlib import Path

from connectors.custodian.profile import Profile, profile_for
from connectors.custodian.readahead import read_ahead
from engine.reconcile.load import LoadResult, store_statement
from engine.store.database import Database


def load_files(
    database: Database,
    paths: list[Path],
    custodian: str,
    profile: Profile | None = None,
    loaded_by: str | None = None,
) -> list[LoadResult]:
    """Store every file in one transaction (all or nothing), each file read while the one before
    it is stored (connectors.custodian.readahead): a refused file, wherever it is in the list,
    rolls back the files stored before it."""
    prof = profile or profile_for(custodian)
    with database.transaction() as session:
        return [
            store_statement(session, f.statement, f.name, f.sha256, loaded_by)
            for f in read_ahead((p, prof) for p in paths)
        ]
