"""ORM tables owned by engine.reconcile (migrations on the 'reconcile' Alembic branch)."""
