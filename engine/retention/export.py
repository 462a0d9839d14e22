"""`client export`: everything the book holds about one client (a household, or one account), as
one CSV file per table plus `holdings.csv` and a `manifest.json` with the SHA-256 of every file.

EXPORTED names every table that carries client data and how its rows are found;
tests/engine/retention/test_coverage.py walks the schema and fails when a table that refers to
an account or a client (a column or a foreign key, directly or through another such table) is
not here. The export is audited
(`client.export`, with the manifest's hash) and needs `client.export` (compliance, admin).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, or_, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import NotFound, WorkstationError
from engine.store.base import Base
from engine.store.files import create_private_file, private_dir


@dataclass(frozen=True)
class Client:
    """Who is exported: the household or account code asked for, and the ids that follow from it."""

    code: str
    kind: str
    household_ids: frozenset[int]
    account_ids: frozenset[int]
    account_codes: frozenset[str]
    order_ids: frozenset[int]
    proposal_ids: frozenset[int]
    case_ids: frozenset[int]
    break_ids: frozenset[int]
    statement_ids: frozenset[int]
    booking_ids: frozenset[int]


def _t(name: str) -> Table:
    return Base.metadata.tables[name]


def _in(col: Any, values: frozenset[Any]) -> ColumnElement[bool]:
    return col.in_(sorted(values))  # an empty set matches nothing


def _ids(session: Session, q: Select[Any]) -> frozenset[Any]:
    return frozenset(session.scalars(q))


def resolve(session: Session, code: str) -> Client:
    """The client named `code`: a household code (all its accounts), else an account code."""
    hh, acc = _t("households"), _t("accounts")
    house = session.execute(select(hh.c.id).where(hh.c.code == code)).scalar_one_or_none()
    account = session.execute(select(acc.c.id).where(acc.c.code == code)).scalar_one_or_none()
    if house is not None and account is not None:
        raise WorkstationError(f"{code!r} is both a household and an account code: cannot tell which client")
    if house is None and account is None:
        raise NotFound(f"no household or account {code!r}")
    if house is not None:
        where = acc.c.household_id == house
        kind, households = "household", frozenset({house})
    else:
        where = acc.c.id == account
        kind, households = "account", frozenset()
    rows = session.execute(select(acc.c.id, acc.c.code).where(where)).all()
    ids = frozenset(int(r[0]) for r in rows)
    codes = frozenset(str(r[1]) for r in rows)
    o, p, ca = _t("orders"), _t("proposals"), _t("compliance_approvals")
    orders = _ids(session, select(o.c.id).where(_in(o.c.account_id, ids)))
    proposals = _ids(session, select(p.c.id).where(_in(p.c.account_id, ids)))
    cases = _ids(
        session,
        select(ca.c.id).where(
            or_(
                (ca.c.entity == "order") & _in(ca.c.entity_id, frozenset(str(i) for i in orders)),
                (ca.c.entity == "proposal") & _in(ca.c.entity_id, frozenset(str(i) for i in proposals)),
            )
        ),
    )
    br, rp, rc, bk = _t("recon_breaks"), _t("recon_positions"), _t("recon_cash"), _t("bookings")
    breaks = _ids(session, select(br.c.id).where(_in(br.c.account_code, codes)))
    statements = _ids(session, select(rp.c.statement_id).where(_in(rp.c.account_code, codes))) | _ids(
        session, select(rc.c.statement_id).where(_in(rc.c.account_code, codes))
    )
    bookings = _ids(session, select(bk.c.id).where(_in(bk.c.account_id, ids)))
    return Client(code, kind, households, ids, codes, orders, proposals, cases, breaks, statements, bookings)


Selector = Callable[[Client], Select[Any]]


def _by(table: str, column: str, attr: str) -> Selector:
    def q(c: Client) -> Select[Any]:
        t = _t(table)
        return select(t).where(_in(t.c[column], getattr(c, attr))).order_by(*t.primary_key.columns)

    return q


def _allocations(c: Client) -> Select[Any]:
    t = _t("oms_allocations")
    return (
        select(t)
        .where(or_(_in(t.c.account_id, c.account_ids), _in(t.c.child_id, c.order_ids)))
        .order_by(t.c.id)
    )


def _daily_values(c: Client) -> Select[Any]:
    t = _t("account_daily_values")
    return select(t).where(_in(t.c.account_id, c.account_ids)).order_by(t.c.account_id, t.c.day)


def _statements(c: Client) -> Select[Any]:
    t = _t("client_statements")
    return (
        select(t)
        .where(or_(_in(t.c.account_id, c.account_ids), _in(t.c.household_id, c.household_ids)))
        .order_by(t.c.id)
    )


def _of_blocks(table: str) -> Selector:
    """Rows of a block-level table (by its order): the client's orders and the blocks they are in."""

    def q(c: Client) -> Select[Any]:
        t, o = _t(table), _t("orders")
        col = t.c["block_id"] if "block_id" in t.c else t.c["order_id"]
        blocks = select(o.c.parent_id).where(_in(o.c.id, c.order_ids), o.c.parent_id.is_not(None))
        key = t.c.id if "id" in t.c else col
        return select(t).where(or_(_in(col, c.order_ids), col.in_(blocks))).order_by(key)

    return q


def _transition_steps(c: Client) -> Select[Any]:
    t, p = _t("transition_steps"), _t("transition_plans")
    plans = select(p.c.id).where(_in(p.c.account_id, c.account_ids))
    return select(t).where(t.c.plan_id.in_(plans)).order_by(t.c.id)


EXPORTED: dict[str, Selector] = {
    "households": _by("households", "id", "household_ids"),
    "accounts": _by("accounts", "id", "account_ids"),
    "household_groups": _by("household_groups", "household_id", "household_ids"),
    "account_tax_budgets": _by("account_tax_budgets", "account_id", "account_ids"),
    "account_exclusions": _by("account_exclusions", "account_id", "account_ids"),
    "tax_lots": _by("tax_lots", "account_id", "account_ids"),
    "cash_balances": _by("cash_balances", "account_id", "account_ids"),
    "cash_movements": _by("cash_movements", "account_id", "account_ids"),
    "bookings": _by("bookings", "account_id", "account_ids"),
    "realized_gains": _by("realized_gains", "account_id", "account_ids"),
    "activity_lines": _by("activity_lines", "account_id", "account_ids"),
    "account_daily_values": _daily_values,
    "client_statements": _statements,
    "orders": _by("orders", "account_id", "account_ids"),
    "order_events": _by("order_events", "order_id", "order_ids"),
    "executions": _by("executions", "order_id", "order_ids"),
    "oms_cl_ord_ids": _by("oms_cl_ord_ids", "order_id", "order_ids"),
    "oms_allocations": _allocations,
    "oms_alloc_instructions": _of_blocks("oms_alloc_instructions"),
    "oms_rotation_log": _of_blocks("oms_rotation_log"),
    "oms_order_marks": _of_blocks("oms_order_marks"),
    "proposals": _by("proposals", "account_id", "account_ids"),
    "proposal_exceptions": _by("proposal_exceptions", "account_id", "account_ids"),
    "transition_plans": _by("transition_plans", "account_id", "account_ids"),
    "transition_steps": _transition_steps,
    "compliance_approvals": _by("compliance_approvals", "id", "case_ids"),
    "compliance_approval_decisions": _by("compliance_approval_decisions", "approval_id", "case_ids"),
    "compliance_check_results": _by("compliance_check_results", "account_code", "account_codes"),
    "compliance_list_entries": _by("compliance_list_entries", "account_code", "account_codes"),
    "compliance_desk_accounts": _by("compliance_desk_accounts", "account_code", "account_codes"),
    "recon_breaks": _by("recon_breaks", "id", "break_ids"),
    "recon_comments": _by("recon_comments", "break_id", "break_ids"),
    "recon_adjustments": _by("recon_adjustments", "break_id", "break_ids"),
    "recon_positions": _by("recon_positions", "account_code", "account_codes"),
    "recon_cash": _by("recon_cash", "account_code", "account_codes"),
}
"""Table -> the query for one client's rows. The audit log is exported separately (below)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _names(value: Any, codes: frozenset[str], ids: frozenset[int]) -> bool:
    """Whether JSON data names one of the accounts (a code as a value, or an account_id key)."""
    if isinstance(value, str):
        return value in codes
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("account_id", "account") and isinstance(v, int) and v in ids:
                return True
            if _names(v, codes, ids):
                return True
        return False
    if isinstance(value, list):
        return any(_names(v, codes, ids) for v in value)
    return False


def audit_rows(session: Session, c: Client, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Audit entries about the client: its accounts, orders, proposals, cases, breaks, or naming an account."""
    refs = {
        "account": {str(i) for i in c.account_ids} | set(c.account_codes),
        "order": {str(i) for i in c.order_ids},
        "approval:order": {str(i) for i in c.order_ids},
        "proposal": {str(i) for i in c.proposal_ids},
        "approval:proposal": {str(i) for i in c.proposal_ids},
        "recon_break": {str(i) for i in c.break_ids},
        "booking": {str(i) for i in c.booking_ids},
    }
    t = _t("audit_log")
    for row in session.execute(select(t).order_by(t.c.id).execution_options(yield_per=batch)).mappings():
        if (
            str(row["entity_id"]) in refs.get(row["entity"], ())
            or _names(row["before"], c.account_codes, c.account_ids)
            or _names(row["after"], c.account_codes, c.account_ids)
        ):
            yield dict(row)


def _holdings(session: Session, c: Client) -> Select[Any]:
    lots, sec, acc = _t("tax_lots"), _t("securities"), _t("accounts")
    return (
        select(
            acc.c.code.label("account"), sec.c.symbol, sec.c.currency,
            func.sum(lots.c.quantity).label("quantity"), func.count().label("lots"),
            func.sum(lots.c.quantity * lots.c.unit_cost).label("cost_local"),
        )
        .join(sec, sec.c.id == lots.c.security_id)
        .join(acc, acc.c.id == lots.c.account_id)
        .where(_in(lots.c.account_id, c.account_ids))
        .group_by(acc.c.code, sec.c.symbol, sec.c.currency)
        .order_by(acc.c.code, sec.c.symbol)
    )  # fmt: skip


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and its manifest (files with rows and SHA-256)."""

    out: Path
    manifest: dict[str, Any]
    manifest_sha256: str


def _write(path: Path, header: list[str], rows: Iterator[Any]) -> int:
    create_private_file(path)
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([_cell(v) for v in r])
            n += 1
    return n


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def export_client(
    session: Session, actor: str, code: str, out: Path, now: datetime | None = None
) -> ExportResult:
    """Write the client's files into `out` (a new or empty directory, made 0700, files 0600); audited."""
    require(session, actor, Permission.CLIENT_EXPORT)
    client = resolve(session, code)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorkstationError(f"{out}: not an empty directory; the export never overwrites files")
    private_dir(out)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    files: list[dict[str, Any]] = []

    def done(name: str, table: str | None, rows: int) -> None:
        p = out / name
        files.append(
            {"file": name, "table": table, "rows": rows, "bytes": p.stat().st_size, "sha256": _sha256(p)}
        )

    for table, query in EXPORTED.items():
        t = _t(table)
        rows = session.execute(query(client))
        done(f"{table}.csv", table, _write(out / f"{table}.csv", [c.name for c in t.columns], iter(rows)))
    h = _holdings(session, client)
    done(
        "holdings.csv",
        None,
        _write(out / "holdings.csv", list(h.selected_columns.keys()), iter(session.execute(h))),
    )
    cols = [c.name for c in _t("audit_log").columns]
    audit = (tuple(r[c] for c in cols) for r in audit_rows(session, client))
    done("audit_log.csv", "audit_log", _write(out / "audit_log.csv", cols, audit))
    manifest: dict[str, Any] = {
        "client": client.code,
        "kind": client.kind,
        "accounts": sorted(client.account_codes),
        "generated_at": at.isoformat(),
        "generated_by": actor,
        "format": "csv (UTF-8, header row; JSON cells as JSON text; times UTC ISO 8601)",
        "files": files,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    mpath = out / "manifest.json"
    create_private_file(mpath)
    mpath.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    record(
        session, actor, "client.export", client.kind, client.code,
        after={"accounts": sorted(client.account_codes), "files": len(files),
               "rows": sum(f["rows"] for f in files), "manifest_sha256": digest},
        reason="client data export on request", at=at,
    )  # fmt: skip
    return ExportResult(out, manifest, digest)
