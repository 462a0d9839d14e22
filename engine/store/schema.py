"""Every table module, imported so that `Base.metadata` is complete (for migrations and tests)."""

from engine.store import accounts, market, meta, people, positions, reference, trading
from engine.store.base import Base

TABLE_MODULES = (reference, accounts, positions, market, people, trading, meta)
metadata = Base.metadata

__all__ = ["TABLE_MODULES", "Base", "metadata"]
