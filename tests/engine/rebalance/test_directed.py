"""Directed trades on the demo book: X% of one security across the accounts, in board lots, by
priority, never overdrawing cash. Expected quantities are computed here from prices and lots."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.rebalance.directed import run_directed
from engine.rebalance.settings import DirectedTrade, RebalanceSettings, Style
from engine.store.database import Database
from workstation.cli.main import main


@pytest.fixture(scope="module")
def target(loaded: Any) -> tuple[str, int]:
    """The security held by the most accounts (and its universe index)."""
    u, accounts = loaded
    held = Counter(int(x) for a in accounts for x in set(a.lot_sec.tolist()))
    i = held.most_common(1)[0][0]
    return str(u.symbols[i]), i


@pytest.fixture(scope="module")
def free_buy(book: Database, target: tuple[str, int]) -> list[dict[str, Any]]:
    """A 2% buy in every account, no limit, no priority."""
    return run_directed(book, _settings(DirectedTrade(target[0], "buy", 0.02)), save=False).records


def _settings(d: DirectedTrade) -> RebalanceSettings:
    return RebalanceSettings(style=Style.DIRECTED, directed=d)


def _price_base(u: Any, i: int, base: str) -> float:
    return float(u.price[i] * u.multiplier[i] * u.fx_to[base][str(u.currency[i])])


def _cash_weight(rec: dict[str, Any], side: str) -> float:
    return sum(w for k, w in rec[side]["weights"].items() if k.startswith("CASH:"))


def test_a_directed_buy_is_whole_lots_within_the_percentage_and_the_cash(
    free_buy: list[dict[str, Any]], loaded: Any, target: tuple[str, int]
) -> None:
    u, accounts = loaded
    sym, i = target
    by = {a.code: a for a in accounts}
    lot = float(u.lot_size[i])
    full = cut = 0
    for rec in free_buy:
        a = by[rec["account"]]
        assert rec["status"] == "ok" and rec["rung"] == "directed", rec["reason"]
        assert {t["symbol"] for t in rec["trades"]} <= {sym}  # nothing else trades
        want = 0.02 * rec["value_base"] / _price_base(u, i, a.base)
        qty = sum(t["quantity"] for t in rec["trades"])
        assert qty % lot == 0 and qty <= math.floor(want / lot + 1e-9) * lot
        assert rec["directed"]["quantity"] == qty
        # Cash sufficiency: never below the floor, never overdrawn in any currency.
        assert all(v >= -0.005 for v in rec["after"]["cash"].values())
        if qty:
            assert _cash_weight(rec, "after") >= a.cash_floor - 1e-6
        if qty == math.floor(want / lot + 1e-9) * lot:
            full += 1
        else:
            cut += 1
            assert "cash" in rec["reason"] or "minimum" in rec["reason"], rec["reason"]
    assert full >= 10 and cut >= 1


def test_a_directed_sell_sells_the_percentage_of_each_holding_in_lots(
    book: Database, loaded: Any, target: tuple[str, int]
) -> None:
    u, accounts = loaded
    sym, i = target
    lot = float(u.lot_size[i])
    res = run_directed(book, _settings(DirectedTrade(sym, "sell", 0.5)), save=False)
    held = {a.code: float(a.lot_qty[a.lot_sec == i].sum()) for a in accounts}
    sold_accounts = 0
    for rec in res.records:
        qty = sum(t["quantity"] for t in rec["trades"] if t["side"] == "sell")
        if rec["status"] != "ok":
            continue
        expect = math.floor(0.5 * held[rec["account"]] / lot + 1e-9) * lot
        if held[rec["account"]] == 0:
            assert qty == 0 and "holds none" in rec["reason"]
        elif (
            expect * _price_base(u, i, rec["base_currency"]) >= 1000.0 * u.fx_to[rec["base_currency"]]["USD"]
        ):
            assert qty == expect, rec["account"]
            sold_accounts += 1
            t = rec["trades"][0]
            assert sum(lot_["quantity"] for lot_ in t["lots"]) == qty
    assert sold_accounts >= 20


def test_priority_and_a_limit_fill_accounts_in_order(
    book: Database, free_buy: list[dict[str, Any]], target: tuple[str, int]
) -> None:
    sym, _ = target
    free = {r["account"]: r for r in free_buy}
    firsts = sorted((c for c in free if free[c]["directed"]["quantity"] > 0), reverse=True)[:3]
    limit = sum(free[c]["directed"]["quantity"] for c in firsts[:2]) + 1.0  # the third gets (almost) nothing
    prio = tuple((c, n) for n, c in enumerate(firsts, start=1))
    res = run_directed(book, _settings(DirectedTrade(sym, "buy", 0.02, limit, prio)), save=False)
    order = [r["account"] for r in res.records]
    assert order[:3] == firsts  # priority first, then the others by code
    assert order[3:] == sorted(order[3:])
    got = {r["account"]: r["directed"]["quantity"] for r in res.records}
    assert got[firsts[0]] == free[firsts[0]]["directed"]["quantity"]
    assert got[firsts[1]] == free[firsts[1]]["directed"]["quantity"]
    assert sum(got.values()) <= limit
    assert all(got[c] == 0 for c in order[3:])
    assert "limit" in res.records[3]["reason"] or got[firsts[2]] == 0


def test_cli_directed_run_writes_records(
    book_path: Path, tmp_path: Path, target: tuple[str, int], capsys: Any
) -> None:
    sym, _ = target
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    prio = tmp_path / "prio.csv"
    prio.write_text("account,priority\nA000002,1\nA000001,x\n")
    db = ["--db", f"sqlite:///{path}"]
    args = [
        *db,
        "rebalance",
        "--style",
        "directed",
        "--directed",
        f"{sym}:buy:0.01",
        "--accounts",
        "A000001,A000002",
    ]
    assert main([*args, "--no-save", "--priority", str(prio)]) == 2
    assert "row 3" in capsys.readouterr().err
    prio.write_text("account,priority\nA000002,1\n")
    out = tmp_path / "run.json"
    assert main([*args, "--priority", str(prio), "--user", "pat.pm", "--json", str(out)]) == 0
    recs = json.loads(out.read_text())
    assert [r["account"] for r in recs] == ["A000001", "A000002"]  # the file is sorted by account
    assert recs[1]["directed"]["priority"] == 1 and recs[0]["directed"]["priority"] is None
    assert "rungs: directed 2" in capsys.readouterr().out
    assert main([*db, "rebalance", "--style", "directed", "--directed", f"{sym}:hold:0.01", "--no-save"]) == 2
    assert main([*db, "rebalance", "--directed", f"{sym}:buy:0.01", "--no-save"]) == 2
    assert np.isfinite(recs[0]["value_base"])
