"""Schema migrations with Alembic, run from code (`workstation db upgrade`).

Each engine area may grow its own branch of revisions (branch label = area), all rooted at
the foundation revision; upgrading goes to every head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.store.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database, target: str = "heads") -> list[str]:
    """Bring the schema to `target` (every head by default); returns the revisions now applied."""
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return current_revisions(db)


def current_revisions(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_current(db: Database) -> bool:
    return current_revisions(db) == head_revisions()
