"""ORM tables owned by engine.oms (migrations on the 'oms' Alembic branch)."""
