"""A PM changes or removes a proposed trade: the proposal is re-checked exactly on the book (cash,
no short sale, board lots, household buy-and-sell), its figures are recomputed, the edit is audited
with before and after, a proposal that fails the re-check cannot be accepted, and refused edits
change nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import NotFound, PermissionDenied, WorkstationError
from engine.rebalance.bulk import run_bulk
from engine.rebalance.exceptions import breaches
from engine.rebalance.review import review
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.rebalance.trade_edit import TradeEdit, edit_trade, household_conflicts
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.views.proposal_review import compliance_screen
from workstation.cli.main import main

PM = "pat.pm"


@pytest.fixture
def edited_book(book_path: Path, tmp_path: Path) -> Iterator[Database]:
    """A copy of the shared demo book with a stored run of eight accounts (edits change it)."""
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    database = Database(f"sqlite:///{path}")
    with database.session() as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(8)))
    run_bulk(database, RebalanceSettings(skip_in_band=False), ids, executor="inline", user=PM)
    yield database
    database.dispose()


def _proposal(database: Database, side: str) -> tuple[int, dict[str, Any]]:
    """The first ok proposal with at least two trades, one of them on `side`."""
    with database.session() as s:
        for p in s.scalars(select(Proposal).where(Proposal.status == "ok").order_by(Proposal.id)):
            trades = (p.payload or {}).get("trades") or []
            if len(trades) >= 2 and any(t["side"] == side for t in trades) and not breaches(p.payload):
                return p.id, dict(p.payload)
    raise AssertionError(f"no proposal with a {side}")


def _payload(database: Database, pid: int) -> tuple[str, dict[str, Any]]:
    with database.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.status, dict(p.payload)


def _holdings_after(payload: dict[str, Any]) -> dict[str, float]:
    """Holdings after the trades, by hand from the holdings before and the trades."""
    out = dict(payload["before"]["holdings"])
    for t in payload["trades"]:
        sign = 1.0 if t["side"] == "buy" else -1.0
        out[t["symbol"]] = out.get(t["symbol"], 0.0) + sign * t["quantity"]
    return {k: v for k, v in out.items() if v > 1e-9}


def test_removing_a_buy_recomputes_the_proposal_and_putting_it_back_gives_the_solve(
    edited_book: Database,
) -> None:
    pid, original = _proposal(edited_book, "buy")
    buy = next(t for t in original["trades"] if t["side"] == "buy")
    out = edit_trade(edited_book, PM, pid, TradeEdit(buy["symbol"], remove=True), screen=compliance_screen)
    assert out["ok"] and out["violations"] == []
    status, pay = _payload(edited_book, pid)
    assert status == "ok"
    assert [t["symbol"] for t in pay["trades"]] == [t["symbol"] for t in original["trades"] if t is not buy]
    assert pay["after"]["holdings"] == pytest.approx(_holdings_after(pay))
    assert pay["after"]["holdings"].get(buy["symbol"], 0.0) == pytest.approx(
        original["before"]["holdings"].get(buy["symbol"], 0.0)
    )
    # Turnover from the remaining trades' values over the account value (independent of the record).
    traded = sum(t["est_value_base"] for t in pay["trades"])
    assert pay["turnover"] == pytest.approx(traded / pay["value_base"], rel=1e-6)
    assert pay["est_cost"] == pytest.approx(
        sum(t["est_cost"] for t in pay["trades"]) + sum(f["est_cost"] for f in pay["fx_trades"]), abs=0.02
    )
    assert pay["edits"][-1] == {
        **pay["edits"][-1],
        "symbol": buy["symbol"],
        "side": "buy",
        "before": buy["quantity"],
        "after": 0.0,
        "by": PM,
    }
    assert pay["recheck"]["ok"] is True and pay["recheck"]["compliance"]["outcome"] in (
        "pass",
        "warn",
        "flag",
        "block",
    )

    # Changing a trade and changing it back gives the solver's own record (exact arithmetic).
    sell = next(t for t in original["trades"] if t["side"] == "sell")
    with edited_book.transaction() as s:  # a fresh copy of the original to edit from
        p = s.get(Proposal, pid)
        assert p is not None
        p.payload = original
    edit_trade(
        edited_book,
        PM,
        pid,
        TradeEdit(sell["symbol"], quantity=sell["quantity"] / 2 + 1),
        screen=compliance_screen,
    )
    out = edit_trade(
        edited_book, PM, pid, TradeEdit(sell["symbol"], quantity=sell["quantity"]), screen=compliance_screen
    )
    _, back = _payload(edited_book, pid)
    for key in ("est_tax", "est_cost", "turnover"):
        assert back[key] == pytest.approx(original[key], abs=0.011), key
    assert back["after"]["holdings"] == pytest.approx(original["after"]["holdings"])
    assert back["after"]["cash"] == pytest.approx(original["after"]["cash"], abs=0.011)
    assert back["after"]["tracking_error"] == pytest.approx(original["after"]["tracking_error"], abs=1e-8)
    assert {t["symbol"]: t["quantity"] for t in back["trades"]} == {
        t["symbol"]: t["quantity"] for t in original["trades"]
    }
    assert len(back["edits"]) == 2


def test_a_failed_recheck_blocks_accept_until_an_edit_fixes_it(edited_book: Database) -> None:
    pid, original = _proposal(edited_book, "buy")
    buy = next(t for t in original["trades"] if t["side"] == "buy")
    # Ten times the account's value: cash cannot pay for it.
    huge = float(int(original["value_base"] * 10 / max(buy["est_value_base"] / buy["quantity"], 1e-9)) + 1)
    out = edit_trade(edited_book, PM, pid, TradeEdit(buy["symbol"], quantity=huge), screen=compliance_screen)
    assert not out["ok"]
    assert any(v.startswith(("no overdraft", "cash floor")) for v in out["violations"])
    with pytest.raises(WorkstationError, match="re-check"), edited_book.transaction() as s:
        review(s, PM, pid, "accept")
    assert _payload(edited_book, pid)[0] == "ok"

    # A fractional quantity breaks the board lot.
    out = edit_trade(
        edited_book,
        PM,
        pid,
        TradeEdit(buy["symbol"], quantity=buy["quantity"] + 0.5),
        screen=compliance_screen,
    )
    assert any(v.startswith("round lot") for v in out["violations"])

    # Selling more than the account holds is a short sale.
    sell = next((t for t in original["trades"] if t["side"] == "sell"), None)
    if sell is not None:
        held = original["before"]["holdings"][sell["symbol"]]
        out = edit_trade(
            edited_book, PM, pid, TradeEdit(sell["symbol"], quantity=held + 1000), screen=compliance_screen
        )
        assert any(v.startswith("no shorting") for v in out["violations"])
        edit_trade(
            edited_book,
            PM,
            pid,
            TradeEdit(sell["symbol"], quantity=sell["quantity"]),
            screen=compliance_screen,
        )

    out = edit_trade(
        edited_book, PM, pid, TradeEdit(buy["symbol"], quantity=buy["quantity"]), screen=compliance_screen
    )
    assert out["ok"]
    with edited_book.transaction() as s:
        assert review(s, PM, pid, "accept") == "accepted"
    # Accepted: no more edits.
    with pytest.raises(WorkstationError, match="waiting for review"):
        edit_trade(edited_book, PM, pid, TradeEdit(buy["symbol"], remove=True), screen=compliance_screen)


def test_refused_edits_change_nothing_and_each_edit_is_audited(edited_book: Database) -> None:
    pid, original = _proposal(edited_book, "sell")
    sym = original["trades"][0]["symbol"]
    with pytest.raises(PermissionDenied):
        edit_trade(edited_book, "tara.trader", pid, TradeEdit(sym, remove=True), screen=compliance_screen)
    with pytest.raises(NotFound, match="no trade in NOPE"):
        edit_trade(edited_book, PM, pid, TradeEdit("NOPE", remove=True), screen=compliance_screen)
    with pytest.raises(WorkstationError, match="quantity: must be above 0"):
        edit_trade(edited_book, PM, pid, TradeEdit(sym, quantity=0.0), screen=compliance_screen)
    with pytest.raises(WorkstationError, match="already"):
        edit_trade(
            edited_book,
            PM,
            pid,
            TradeEdit(sym, quantity=original["trades"][0]["quantity"]),
            screen=compliance_screen,
        )
    assert _payload(edited_book, pid)[1] == original

    edit_trade(edited_book, PM, pid, TradeEdit(sym, remove=True), screen=compliance_screen)
    with edited_book.session() as s:
        entries = s.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "proposal",
                AuditEntry.entity_id == str(pid),
                AuditEntry.action == "proposal.edit",
            )
        ).all()
    assert len(entries) == 1
    e = entries[0]
    assert e.username == PM
    assert e.before["status"] == "ok" and e.after["status"] == "ok"
    assert e.after["edit"] == {
        "symbol": sym,
        "side": original["trades"][0]["side"],
        "before": original["trades"][0]["quantity"],
        "after": 0.0,
    }


def test_household_buy_and_sell_is_a_violation(edited_book: Database) -> None:
    u, _accounts = load_run(edited_book, None)
    sym = str(u.symbols[0])
    trades = [{"symbol": sym, "side": "buy", "quantity": 10.0}]
    assert household_conflicts(u, trades, [("A000002", sym, "buy")]) == []
    (v,) = household_conflicts(u, trades, [("A000002", sym, "sell")])
    assert v.constraint == "household" and "A000002" in v.detail


def test_cli_edit_prints_json_and_exits_1_on_a_failed_recheck(
    edited_book: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    pid, original = _proposal(edited_book, "buy")
    buy = next(t for t in original["trades"] if t["side"] == "buy")
    url = edited_book.engine.url.render_as_string(hide_password=False)
    args = ["--db", url, "rebalance", "edit", "--proposal", str(pid), "--trade", buy["symbol"]]
    assert main([*args, "--quantity", str(buy["quantity"] + 0.5), "--user", PM, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["before"] == buy["quantity"] and out["after"] == buy["quantity"] + 0.5
    assert any(v.startswith("round lot") for v in out["violations"])
    assert main([*args, "--remove", "--user", PM, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["trades"] == len(original["trades"]) - 1
    assert main([*args, "--remove", "--user", PM]) == 2  # the trade is gone: one error line
    assert "no trade in" in capsys.readouterr().err


def test_an_edit_is_rechecked_against_the_runs_own_limits(edited_book: Database) -> None:
    """A run with a 3% turnover cap keeps its cap after an edit: selling a whole position that the
    cap held back is a "max turnover" violation (the re-check used the firm's 100% before)."""
    with edited_book.session() as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(8)))
    run = run_bulk(
        edited_book, RebalanceSettings(skip_in_band=False, max_turnover=0.03), ids, executor="inline", user=PM
    )
    picked = None
    with edited_book.session() as s:
        for p in s.scalars(
            select(Proposal).where(Proposal.batch_id == run.batch_id, Proposal.status == "ok")
        ):
            pay = p.payload or {}
            assert pay["limits"]["max_turnover"] == 0.03 and pay["turnover"] <= 0.03 + 1e-9
            for t in pay.get("trades") or []:
                held = pay["before"]["holdings"].get(t["symbol"], 0.0)
                price = t["est_value_base"] / t["quantity"]
                if t["side"] == "sell" and held * price / pay["value_base"] > 0.035:
                    picked = (p.id, t["symbol"], held)
                    break
            if picked:
                break
    assert picked is not None, "no sell of a position above 3.5% of its account in the capped run"
    pid, symbol, held = picked
    out = edit_trade(edited_book, PM, pid, TradeEdit(symbol, quantity=held), screen=compliance_screen)
    assert not out["ok"]
    assert any(v.startswith("max turnover") and "> 3.00%" in v for v in out["violations"])
    status, payload = _payload(edited_book, pid)
    assert status == "ok" and payload["limits"]["max_turnover"] == 0.03  # the edit keeps the run's limits
