"""Composition root: opens the store for a command, with schema and reference data in place."""

from __future__ import annotations

import resources
from engine.errors import ConfigurationError
from engine.store.database import Database, mask_url
from engine.store.migrate import is_current, upgrade
from engine.store.reference_seed import seed_reference
from workstation.config import resolve_db_url


def open_store(db: str | None, *, migrate: bool = True) -> Database:
    """Open the database named by --db / $WORKSTATION_DB / the embedded default.

    The embedded SQLite default is migrated on open (a single desk owns it). A shared server
    database is migrated only by `workstation db upgrade`, so desks never race to migrate it.
    """
    database = Database(resolve_db_url(db))
    if database.dialect == "sqlite" and migrate:
        upgrade(database)
    elif not is_current(database):
        raise ConfigurationError(
            f"{mask_url(database.url)} is not at the current schema: run `workstation db upgrade` first"
        )
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    return database
