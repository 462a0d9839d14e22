"""Write activity CSV files for tests and load them as the minibook's operations user."""

from __future__ import annotations

from pathlib import Path

from connectors.custodian.activity import read_activity_file
from engine.activity.load import ActivityLoadResult, book_activity_file
from engine.store.database import Database
from tests.engine.reconcile.minibook import CUST, OPS

HEADER = (
    "reference,account,kind,trade_date,settle_date,id_type,security_id,quantity,price,commission,"
    "currency,amount,gross,withholding,cost_basis,acquired,fx_rate,counter_currency,counter_amount,description"
)
FIELDS = HEADER.split(",")


def csv_file(path: Path, rows: list[dict[str, str]]) -> Path:
    """A generic activity CSV with these rows (missing fields empty)."""
    lines = [HEADER] + [",".join(r.get(f, "") for f in FIELDS) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(database: Database, path: Path, custodian: str = CUST, user: str = OPS) -> ActivityLoadResult:
    parsed = read_activity_file(path, custodian)
    with database.transaction() as s:
        return book_activity_file(
            s, parsed, custodian=custodian, username=user, source_name=parsed.source_name,
            content_hash=parsed.content_hash,
        )  # fmt: skip
