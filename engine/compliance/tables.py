"""ORM tables owned by engine.compliance (migrations on the 'compliance' Alembic branch)."""
