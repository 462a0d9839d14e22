"""What-if runs write nothing (every table's row count unchanged) and two runs compare account by
account: turnover, tax, tracking error and drift after, and the trades that differ, checked
against the two runs' own records; from the CLI with a what-if's --json file and a stored batch,
whose over-limit proposals were queued for sign-off when they were stored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.rebalance import exceptions as exc
from engine.rebalance.bulk import run_bulk
from engine.rebalance.compare import compare
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.rebalance.transition_tables import ProposalException
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.schema import metadata
from workstation.cli.main import main

N = 12


def row_counts(database: Database) -> dict[str, int]:
    with database.session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in metadata.sorted_tables
        }


def first_ids(database: Database) -> list[int]:
    with database.session() as s:
        return list(s.scalars(select(Account.id).order_by(Account.id).limit(N)))


def _trades(r: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(t["symbol"], t["side"]): t["quantity"] for t in r["trades"]} if r["status"] == "ok" else {}


def test_what_if_writes_nothing_and_compare_matches_the_records(book: Database) -> None:
    ids = first_ids(book)
    before = row_counts(book)
    a = run_bulk(book, RebalanceSettings(skip_in_band=False), ids, executor="inline", save=False).records
    b = run_bulk(book, RebalanceSettings(skip_in_band=False, max_turnover=0.05), ids, executor="inline",
                 save=False).records  # fmt: skip
    assert row_counts(book) == before

    out = compare(a, b)
    ra, rb = {r["account"]: r for r in a}, {r["account"]: r for r in b}
    assert [r["account"] for r in out["accounts"]] == sorted(ra)
    differing = 0
    for row in out["accounts"]:
        x, y = ra[row["account"]], rb[row["account"]]
        assert row["a"]["turnover"] == x["turnover"] and row["b"]["turnover"] == y["turnover"]
        assert row["a"]["est_tax"] == x["est_tax"] and row["b"]["est_tax"] == y["est_tax"]
        assert row["a"]["te_after"] == x["after"]["tracking_error"]
        assert row["b"]["max_drift_after"] == y["after"]["max_drift"]
        assert row["b"]["turnover"] <= 0.05 + 1e-9
        ta, tb = _trades(x), _trades(y)
        by_hand = sorted(k for k in set(ta) | set(tb) if ta.get(k, 0.0) != tb.get(k, 0.0))
        assert [(d["symbol"], d["side"]) for d in row["trades_differing"]] == by_hand
        for d in row["trades_differing"]:
            assert (d["a"], d["b"]) == (
                ta.get((d["symbol"], d["side"]), 0.0),
                tb.get((d["symbol"], d["side"]), 0.0),
            )
        differing += bool(by_hand)
    assert differing == out["summary"]["accounts_differing"] > 0
    mean_a = sum(r["turnover"] for r in a if r["status"] == "ok") / sum(r["status"] == "ok" for r in a)
    assert out["summary"]["a"]["mean_turnover"] == pytest.approx(mean_a)


def test_cli_what_if_file_against_a_stored_batch(
    book_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db_file = tmp_path / "book.db"
    shutil.copyfile(book_path, db_file)  # this test stores a run: its own copy of the shared book
    url = f"sqlite:///{db_file}"
    limits = tmp_path / "limits.csv"
    limits.write_text("code,currency,min_value,max_turnover\nany-turnover,*,0,0.01\n", encoding="utf-8")
    monkeypatch.setattr(exc, "LIMITS_FILE", limits)
    database = Database(url)
    codes = ",".join(a for a in _codes(database))
    before = row_counts(database)
    what_if = tmp_path / "a.json"
    common = ["--db", url, "rebalance", "--accounts", codes, "--executor", "inline", "--no-skip"]
    assert main([*common, "--what-if", "--json", str(what_if)]) == 0
    assert row_counts(database) == before
    assert main([*common, "--max-turnover", "0.05", "--user", "pat.pm"]) == 0
    with database.session() as s:
        batch = s.scalars(select(Proposal.batch_id)).first()
        stored = list(s.scalars(select(Proposal).where(Proposal.batch_id == batch)))
        queued = {e.proposal_id for e in s.scalars(select(ProposalException))}
    assert batch is not None and len(stored) == N
    over = {p.id for p in stored if p.status == "ok" and p.payload["trades"] and p.payload["turnover"] > 0.01}
    assert over and queued == over  # every stored proposal over the limit was queued, no other
    capsys.readouterr()
    assert main(["--db", url, "rebalance", "compare", str(what_if), batch[:8], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == {"a": str(what_if), "b": batch}
    assert len(out["accounts"]) == N
    assert all(r["b"]["turnover"] <= 0.05 + 1e-9 for r in out["accounts"])
    file_records = {r["account"]: r for r in json.loads(what_if.read_text())}
    for r in out["accounts"]:
        assert r["a"]["turnover"] == file_records[r["account"]]["turnover"]
    assert main(["--db", url, "rebalance", "compare", str(tmp_path / "none.json"), batch]) == 2
    database.dispose()


def _codes(database: Database) -> list[str]:
    with database.session() as s:
        return list(s.scalars(select(Account.code).order_by(Account.id).limit(N)))
