"""Storage: SQLAlchemy 2.0 typed ORM tables, sessions and Alembic migrations."""
