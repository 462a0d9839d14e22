"""Every table module, imported so that `Base.metadata` is complete (for migrations and tests).

Each engine area keeps its own tables in `engine/<area>/tables.py` and its migrations on an
Alembic branch labelled with the area's name, rooted at 0001_foundation.
"""

from engine.accounting import tables as accounting_tables
from engine.activity import tables as activity_tables
from engine.audit import tables as audit_tables
from engine.compliance import tables as compliance_tables
from engine.daycycle import tables as daycycle_tables
from engine.oms import marks_tables as oms_marks_tables
from engine.oms import tables as oms_tables
from engine.portfolio_models import tables as models_tables
from engine.pricing import tables as pricing_tables
from engine.rebalance import tables as rebalance_tables
from engine.rebalance import transition_tables
from engine.reconcile import tables as reconcile_tables
from engine.retention import tables as retention_tables
from engine.shared import tables as shared_tables
from engine.statements import tables as statements_tables
from engine.store import accounts, market, meta, people, positions, reference
from engine.store.base import Base

TABLE_MODULES = (
    reference,
    accounts,
    positions,
    market,
    people,
    meta,
    accounting_tables,
    audit_tables,
    rebalance_tables,
    transition_tables,
    compliance_tables,
    oms_tables,
    oms_marks_tables,
    reconcile_tables,
    models_tables,
    shared_tables,
    pricing_tables,
    activity_tables,
    retention_tables,
    daycycle_tables,
    statements_tables,
)
metadata = Base.metadata

__all__ = ["TABLE_MODULES", "Base", "metadata"]
