"""Migrations bring an empty database to the head revision, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from engine.store.database import Database
from engine.store.migrate import current_revisions, head_revisions, is_current, upgrade
from engine.store.schema import metadata


def test_upgrade_empty_database_creates_every_table(db_url: str) -> None:
    database = Database(db_url)
    assert current_revisions(database) == []
    assert upgrade(database) == head_revisions()
    assert is_current(database)
    tables = set(inspect(database.engine).get_table_names())
    assert set(metadata.tables) <= tables
    # Running it again is a no-op.
    assert upgrade(database) == head_revisions()
    database.dispose()


def test_schema_matches_the_orm(db_url: str) -> None:
    """Autogenerate finds nothing to add: the migrations and the ORM tables agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    database = Database(db_url)
    upgrade(database)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []
    database.dispose()
