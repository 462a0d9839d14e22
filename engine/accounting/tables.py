"""ORM tables owned by engine.accounting (migrations on the 'accounting' Alembic branch)."""
