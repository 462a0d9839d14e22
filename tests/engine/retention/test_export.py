"""`client export`: every file of one client, a manifest whose SHA-256s match the files, only
that client's rows, audited; refused into a folder that is not empty."""

from __future__ import annotations

import csv
import hashlib
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import NotFound, WorkstationError
from engine.retention.export import EXPORTED, export_client
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.retention.oldbook import Ids, build_oldbook


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_export_of_a_household_has_every_file_and_a_true_manifest(database: Database, tmp_path: Path) -> None:
    ids: Ids = build_oldbook(database)
    out = tmp_path / "h1"
    with database.transaction() as s:
        result = export_client(s, "co1", "H1", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "household" and manifest["accounts"] == ["U1", "U2"]
    names = {f["file"] for f in manifest["files"]}
    assert names == {f"{t}.csv" for t in EXPORTED} | {"holdings.csv", "audit_log.csv"}
    for f in manifest["files"]:
        data = (out / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
        assert len(_rows(out / f["file"])) == f["rows"]
        assert stat.S_IMODE((out / f["file"]).stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {r["code"] for r in _rows(out / "accounts.csv")} == {"U1", "U2"}
    orders = {int(r["id"]) for r in _rows(out / "orders.csv")}
    assert {ids.old_filled, ids.old_live_gtc, ids.recent_filled, ids.old_child} <= orders
    assert ids.kept_child not in orders  # G1's, household H2
    holdings = {(r["account"], r["symbol"]): r["quantity"] for r in _rows(out / "holdings.csv")}
    assert float(holdings[("U1", "AAA")]) == 100 and float(holdings[("U1", "AAB")]) == 60
    cases = {int(r["id"]) for r in _rows(out / "compliance_approvals.csv")}
    assert cases == {ids.old_closed_case, ids.old_open_case}
    audit = _rows(out / "audit_log.csv")
    actions = [(r["action"], r["entity"]) for r in audit]
    assert ("order.state", "order") in actions and ("test.recent", "account") in actions
    assert sum(1 for a, _ in actions if a == "test.old") == 5  # named account U1 in `after`
    with database.session() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (last.action, last.entity, last.entity_id, last.username) == (
        "client.export",
        "household",
        "H1",
        "co1",
    )
    digest = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    assert last.after["manifest_sha256"] == result.manifest_sha256 == digest


def test_export_of_one_account_and_refusals(database: Database, tmp_path: Path) -> None:
    build_oldbook(database)
    with database.transaction() as s:
        export_client(s, "ad1", "G1", tmp_path / "g1")
    assert {r["code"] for r in _rows(tmp_path / "g1" / "accounts.csv")} == {"G1"}
    assert _rows(tmp_path / "g1" / "households.csv") == []
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(WorkstationError, match="not an empty directory"), database.transaction() as s:
        export_client(s, "co1", "U1", busy)
    with pytest.raises(NotFound, match="no household or account"), database.transaction() as s:
        export_client(s, "co1", "NOPE", tmp_path / "nope")
