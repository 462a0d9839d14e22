"""ORM tables owned by engine.rebalance (migrations on the 'rebalance' Alembic branch)."""
