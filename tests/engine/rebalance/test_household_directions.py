"""Forbidding buys of a force-sold group before the household's first solve (`FORCED_FIRST`).

The direction rule keeps the side an exclusion forces, so the plain path solves, finds the group
bought elsewhere, forbids those buys and solves again. Forbidding them up front must give a
household no worse off (objective within solver tolerance of the plain path's), in fewer solves,
with the household invariants intact: no wash group bought in one account and sold in another,
the exclusion sold, every account's cash above its floor.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import engine.rebalance.household_solve as hs
from tests.engine.rebalance.test_household import _by_code, _household, _solve, _spec, _value


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every household solve's (members, result), in order."""
    calls: list[Any] = []
    real = hs.solve_household_qp

    def spy(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        calls.append((args[0], out))
        return out

    monkeypatch.setattr(hs, "solve_household_qp", spy)
    return calls


def _forced_pair(loaded: Any) -> list[Any]:
    """An IRA and a taxable account that must sell IOL (an exclusion) while the IRA's model holds it."""
    u, _ = loaded
    by = _by_code(loaded)
    x = int(np.flatnonzero(u.symbols == "IOL")[0])
    taxable = by["A000012"]
    forced = replace(
        taxable,
        excluded=np.union1d(taxable.excluded, [x]).astype(int),
        exclusion_reason={**taxable.exclusion_reason, x: "client exclusion"},
    )
    return _household([by["A000037"], forced], _spec())


def test_a_forced_sale_forbids_the_other_accounts_buys_in_one_solve(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    u, _ = loaded
    x = int(np.flatnonzero(u.symbols == "IOL")[0])
    runs = {}
    for first in (False, True):
        monkeypatch.setattr(hs, "FORCED_FIRST", first)
        calls = _counted(monkeypatch)
        recs = _solve(u, _forced_pair(loaded), True)
        members, res = calls[0]
        bought = [float(b[m.p.idx == x].sum()) for m, (b, _) in zip(members, res.sol)]
        runs[first] = (recs, len(calls), bought)
        assert {r["rung"] for r in recs} == {"household"}
        sold = [t for t in recs[1]["trades"] if t["symbol"] == "IOL" and t["side"] == "sell"]
        assert sold and float(sum(t["quantity"] for t in sold)) == recs[1]["before"]["holdings"]["IOL"]
        assert not any(t["symbol"] == "IOL" and t["side"] == "buy" for r in recs for t in r["trades"])
        monkeypatch.undo()
    plain, quick = runs[False], runs[True]
    # The plain first solve buys IOL in the IRA (a conflict to re-solve); forbidden up front, not.
    assert plain[2][0] > 1e-3 and quick[2] == [0.0, 0.0]
    assert quick[1] <= plain[1]
    # No worse: the same problem's objective (fractions of the household) within solver tolerance.
    assert quick[0][0]["objective"] <= plain[0][0]["objective"] + 1e-6


def test_every_household_of_the_book_keeps_its_invariants_and_objective(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    u, accounts = loaded
    sizes: dict[int, int] = defaultdict(int)
    for a in accounts:
        sizes[a.household_id] += 1
    specs = {h: _spec(f"H{h}", h) for h, n in sizes.items() if n > 1}
    grouped = sorted(
        (replace(a, group=specs.get(a.household_id)) for a in accounts), key=lambda a: (a.household_id, a.id)
    )
    objective: dict[bool, dict[int, float]] = {}
    solves = {}
    for first in (False, True):
        monkeypatch.setattr(hs, "FORCED_FIRST", first)
        calls = _counted(monkeypatch)
        recs = _solve(u, [replace(a) for a in grouped], True)
        solves[first] = len(calls)
        monkeypatch.undo()
        by_code = {a.code: a for a in grouped}
        idx = {str(x): i for i, x in enumerate(u.symbols)}
        sides: dict[tuple[int, int], set[str]] = defaultdict(set)
        objective[first] = {}
        for rec in recs:
            a = by_code[rec["account"]]
            assert rec["status"] == "ok", rec["reason"]
            cash = _value(u, a.base, {"holdings": {}, "cash": rec["after"]["cash"]})
            assert cash >= a.cash_floor * _value(u, a.base, rec["after"]) - 0.01
            for t in rec["trades"]:
                sides[(a.household_id, int(u.wash_group[idx[t["symbol"]]]))].add(t["side"])
            if a.group is not None and rec["household"]["rung"] == "household":
                objective[first][a.household_id] = float(rec["objective"])
        assert [k for k, v in sides.items() if len(v) > 1] == []
    assert solves[True] <= solves[False]
    assert objective[True].keys() == objective[False].keys() and objective[True]
    for h, obj in objective[True].items():
        assert obj <= objective[False][h] + 1e-6
