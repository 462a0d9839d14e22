"""An account holding a security with an unbooked corporate action whose ex date has been reached
is suspended from the rebalance with the action named (engine.corporate.pending), in
the records, `rebalance --json`, the stored proposal and `rebalance drift --json`; once the action
is booked it is rebalanced again. Cash dividends and actions not yet ex never suspend."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounting.settlement import security_settle_date
from engine.corporate.book import book_due
from engine.corporate.entry import load
from engine.corporate.terms import ActionTerms
from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.store.database import Database
from workstation.cli.main import main


@pytest.fixture
def copy(book_path: Path, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    path = tmp_path / "ca.db"
    shutil.copy(book_path, path)
    url = f"sqlite:///{path}"
    database = Database(url)
    yield database, url
    database.dispose()


def test_pending_corporate_action_suspends_its_holders_until_booked(
    copy: tuple[Database, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database, url = copy
    with database.session() as s:
        as_of = book_as_of(s)
        u = load_universe(s, as_of)
        accounts = load_accounts(s, u)
        ex = as_of  # reached: the book's date is the ex date
        tomorrow = security_settle_date(s, "XNYS", as_of)  # the next session
    assert u.pending == {}
    held = sorted(
        {int(i) for a in accounts for i in a.lot_sec if u.mic[i] == "XNYS" and u.asset_class[i] == "equity"}
    )
    x = min(held, key=lambda i: sum(i in a.lot_sec for a in accounts))
    holder = next(a for a in accounts if x in a.lot_sec)
    other = next(a for a in accounts if x not in a.lot_sec and len(set(a.lot_sec)) > 1)
    y, z = (int(i) for i in sorted(set(other.lot_sec) - set(holder.lot_sec) - {x})[:2])
    w = next(int(i) for i in sorted(set(holder.lot_sec) - {x}))
    sym = str(u.symbols[x])
    with database.transaction() as s:
        load(s, "vendor.csv", [
            (2, ActionTerms("CA-SPLIT", "split", sym, ex, ratio_new=Decimal(2), ratio_old=Decimal(1))),
            # A dividend ex today, and mergers ex tomorrow and in a month suspend nobody.
            (3, ActionTerms("CA-DIV", "dividend", str(u.symbols[y]), as_of, amount=Decimal("0.01"))),
            (4, ActionTerms("CA-LATER", "merger", str(u.symbols[z]), as_of + timedelta(days=30), amount=Decimal(1))),
            (5, ActionTerms("CA-NEXT", "merger", str(u.symbols[w]), tomorrow, amount=Decimal(1))),
        ], username="otto.ops")  # fmt: skip
    reason = f"suspended: pending corporate action CA-SPLIT (split, ex {ex}) on {sym}: not booked"
    out = tmp_path / "run.json"
    assert main(["--db", url, "rebalance", "--accounts", f"{holder.code},{other.code}", "--executor", "inline",
                 "--user", "pat.pm", "--json", str(out)]) == 0  # fmt: skip
    assert f"1 suspended (stale data or a pending corporate action), e.g. {holder.code}: {reason}" in (
        capsys.readouterr().out
    )
    by = {r["account"]: r for r in json.loads(out.read_text())}
    h = by[holder.code]
    assert (h["status"], h["reason"], h["trades"]) == ("infeasible", reason, [])
    assert h["suspended"] == [
        {"kind": "corporate_action", "name": sym, "ref": "CA-SPLIT", "action": "split", "ex_date": str(ex),
         "status": "announced", "reason": reason.removeprefix("suspended: ")}
    ]  # fmt: skip
    assert by[other.code]["status"] == "ok" and not by[other.code].get("suspended")
    with database.session() as s:
        stored = s.scalars(select(Proposal).where(Proposal.account_id == holder.id)).all()
        assert [(p.status, p.reason) for p in stored] == [("infeasible", reason)]
    assert main(["--db", url, "rebalance", "drift", "--json", "--accounts", holder.code]) == 0
    [d] = json.loads(capsys.readouterr().out)["accounts"]
    assert d["suspended"] == reason

    # Booked on its ex date: the holder is rebalanced again.
    with database.transaction() as s:
        res = book_due(s, ex, username="olga.ops")
    assert {o.ref for o in res.booked} == {"CA-SPLIT", "CA-DIV"} and res.failed == []
    again = run_bulk(database, RebalanceSettings(), [holder.id], executor="inline", user="pat.pm", save=False)
    assert "suspended" not in again.records[0] and not again.records[0]["reason"].startswith("suspended")
