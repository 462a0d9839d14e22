"""Household solves on the demo book: real Clarabel solves, rounding and exact checks per account.

Expectations are computed here from the records' holdings, the universe's closes and FX, the
models and the US rates (IRS: 37% short-term, 20% long-term), not from the household modules.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_batch
from engine.rebalance.context import Context
from engine.rebalance.households import HouseholdSpec
from engine.rebalance.settings import RebalanceSettings
from workstation.cli.main import main

HH = 990_001  # a synthetic household id for pairs built from demo accounts
US_RATES = {"short": 0.37, "long": 0.20}


def _spec(code: str = "HTEST", hid: int = HH, **kw: Any) -> HouseholdSpec:
    base: dict[str, Any] = {
        "household_id": hid, "code": code, "target": "blend", "target_model_id": None, "currency": "USD",
        "tax_budget": None, "carry_forward": 0.0, "ytd_gain": 0.0, "ytd_tax": 0.0,
    }  # fmt: skip
    return HouseholdSpec(**{**base, **kw})


def _by_code(loaded: tuple[Universe, list[AccountInput]]) -> dict[str, AccountInput]:
    return {a.code: a for a in loaded[1]}


def _household(accounts: list[AccountInput], spec: HouseholdSpec) -> list[AccountInput]:
    return [replace(a, household_id=spec.household_id, group=spec) for a in accounts]


def _inefficient(u: Universe) -> np.ndarray:
    return (u.asset_class == "fixed_income") | np.isin(u.sector, ["Fixed Income", "Real Estate"])


def _value(u: Universe, base: str, side: dict[str, Any], mask: np.ndarray | None = None) -> float:
    """Value of a record side's holdings (and cash when no mask) from closes and FX."""
    idx = {str(s): i for i, s in enumerate(u.symbols)}
    fx = u.fx_to[base]
    total = 0.0
    for sym, q in side["holdings"].items():
        i = idx[sym]
        if mask is None or mask[i]:
            total += q * u.price[i] * u.multiplier[i] * fx[str(u.currency[i])]
    if mask is None:
        total += sum(v * fx[c] for c, v in side["cash"].items())
    return total


def _solve(u: Universe, accounts: list[AccountInput], households: bool, **kw: Any) -> list[dict[str, Any]]:
    ctx = Context(u, RebalanceSettings(households=households, skip_in_band=False, **kw))
    return run_batch(ctx, accounts)


def _us_tax(rec: dict[str, Any]) -> float:
    return sum(
        lot["gain"] * US_RATES[lot["term"]] for t in rec["trades"] if t["side"] == "sell" for lot in t["lots"]
    )


def test_the_bond_goes_to_the_ira(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    taxable, ira = by["A000012"], by["A000037"]  # USD: a 60/40 taxable account and a growth IRA
    assert (taxable.tax_status, ira.tax_status) == ("taxable", "tax_deferred")
    bad = _inefficient(u)
    hh = _solve(u, _household([taxable, ira], _spec()), True)
    alone = _solve(u, [replace(taxable), replace(ira)], False)
    assert [r["status"] for r in hh + alone] == ["ok"] * 4
    assert {r["rung"] for r in hh} == {"household"}
    t_before = _value(u, "USD", hh[0]["before"], bad)
    i_before = _value(u, "USD", hh[1]["before"], bad)
    t_hh, i_hh = _value(u, "USD", hh[0]["after"], bad), _value(u, "USD", hh[1]["after"], bad)
    t_alone, i_alone = _value(u, "USD", alone[0]["after"], bad), _value(u, "USD", alone[1]["after"], bad)
    # Bonds and REITs move into the IRA and out of the taxable account, more than solving alone.
    assert i_hh > i_before + 0.05 * _value(u, "USD", hh[1]["before"])
    assert i_hh > i_alone + 0.05 * _value(u, "USD", hh[1]["before"])
    assert t_hh < t_before and t_hh < t_alone
    # The household keeps roughly its blended allocation to them (within 5 points of value).
    values = [_value(u, "USD", r["before"]) for r in hh]
    target = sum(
        v * float(u.models[a.model_id or -1][bad].sum()) * (1 - a.cash_target)
        for v, a in zip(values, (taxable, ira))
    ) / sum(values)
    after = (t_hh + i_hh) / sum(_value(u, "USD", r["after"]) for r in hh)
    assert abs(after - target) < 0.05
    fig = hh[0]["household"]
    assert fig == hh[1]["household"] and fig["run_id"] and fig["accounts"] == ["A000012", "A000037"]
    assert fig["te_after"] < fig["te_before"]
    assert all(r["drift_note"] is None or "household solve" in r["drift_note"] for r in hh)


def test_no_buy_and_sell_across_accounts_in_any_household_and_single_accounts_unchanged(loaded: Any) -> None:
    u, accounts = loaded
    sizes: dict[int, int] = defaultdict(int)
    for a in accounts:
        sizes[a.household_id] += 1
    specs = {h: _spec(f"H{h}", h) for h, n in sizes.items() if n > 1}
    grouped = sorted(
        (replace(a, group=specs.get(a.household_id)) for a in accounts), key=lambda a: (a.household_id, a.id)
    )
    hh = {r["account"]: r for r in _solve(u, grouped, True)}
    alone = {r["account"]: r for r in _solve(u, [replace(a) for a in grouped], False)}
    idx = {str(s): i for i, s in enumerate(u.symbols)}
    sides: dict[tuple[int, int], set[str]] = defaultdict(set)
    for a in grouped:
        rec = hh[a.code]
        assert rec["status"] == "ok", rec["reason"]
        if a.group is None:  # not in a group: exactly the account solve
            assert rec["trades"] == alone[a.code]["trades"] and "household" not in rec
            continue
        assert rec["household"]["household"] == a.group.code
        # Every account's cash stays above its floor (the exact check after rounding held).
        assert (
            _value(u, a.base, {"holdings": {}, "cash": rec["after"]["cash"]})
            >= a.cash_floor * _value(u, a.base, rec["after"]) - 0.01
        )
        for t in rec["trades"]:
            sides[(a.household_id, int(u.wash_group[idx[t["symbol"]]]))].add(t["side"])
    assert len(specs) >= 10 and sides
    both = [k for k, v in sides.items() if len(v) > 1]
    assert both == []
    runs = {r["household"]["run_id"] for r in hh.values() if "household" in r}
    assert len(runs) == len(specs)


def test_a_loss_sale_in_the_taxable_account_blocks_the_ira_repurchase(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    x = int(np.flatnonzero(u.symbols == "IOL")[0])
    taxable = by["A000012"]
    pb = u.price[x] * u.multiplier[x] * u.fx_to["USD"][str(u.currency[x])]
    loss_lots = [
        j
        for j in np.flatnonzero(taxable.lot_sec == x)
        if pb < taxable.lot_cost[j] * u.multiplier[x] * taxable.lot_fx[j]
    ]
    assert loss_lots  # the taxable account holds IOL at a loss...
    forced = replace(
        taxable,
        excluded=np.union1d(taxable.excluded, [x]).astype(int),
        exclusion_reason={**taxable.exclusion_reason, x: "client exclusion"},
    )  # ...and must sell it
    ira = by["A000037"]
    # Alone, the IRA (solved first) buys IOL: a wash sale with the taxable account's loss.
    first = _solve(u, [replace(ira), replace(forced)], False)
    assert any(t["symbol"] == "IOL" and t["side"] == "buy" for t in first[0]["trades"])
    hh = _solve(u, _household([ira, forced], _spec()), True)
    sold = [t for t in hh[1]["trades"] if t["symbol"] == "IOL" and t["side"] == "sell"]
    assert sold and sum(lot["gain"] for lot in sold[0]["lots"]) < 0
    assert not any(t["symbol"] == "IOL" and t["side"] == "buy" for r in hh for t in r["trades"])


def test_the_household_tax_budget_is_kept(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    members = [by["A000005"], by["A000016"]]  # two taxable US accounts that realize gains when free
    free = _solve(u, _household(members, _spec()), True)
    free_tax = sum(_us_tax(r) for r in free)
    budget = round(free_tax / 3, 2)
    assert budget > 10  # without a budget the household pays three times the budget below
    capped = _solve(u, _household(members, _spec(tax_budget=budget)), True)
    assert {r["rung"] for r in capped} == {"household"}
    tax = sum(_us_tax(r) for r in capped)
    assert tax <= budget + 0.01
    assert capped[0]["household"]["est_tax"] == pytest.approx(max(tax, 0.0), abs=0.05)


def test_year_to_date_gains_make_harvested_losses_worth_their_tax(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    members = [by["A000008"], by["A000009"], by["A000010"]]
    plain = _solve(u, _household(members, _spec()), True)
    spec = _spec(ytd_gain=200_000.0, ytd_tax=200_000.0 * US_RATES["short"])
    ytd = _solve(u, _household(members, spec), True)

    def realized(recs: list[dict[str, Any]]) -> float:
        return sum(lot["gain"] for r in recs for t in r["trades"] if t["side"] == "sell" for lot in t["lots"])

    assert realized(ytd) < realized(plain) - 1000  # losses now offset the year's gains
    fig = ytd[0]["household"]
    assert fig["ytd_gains_used"] == pytest.approx(min(200_000.0, max(-realized(ytd), 0.0)), abs=0.05)
    # The additional tax nets against the year's: at most the run's own tax (losses lower it).
    assert fig["est_tax"] == pytest.approx(sum(_us_tax(r) for r in ytd), abs=0.05)


def test_cli_defines_lists_and_solves_household_groups(book_path: Path, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    db = ["--db", f"sqlite:///{path}"]
    assert (
        main([*db, "rebalance", "households", "set", "H000003", "--target", "blend", "--user", "tara.trader"])
        == 2
    )
    assert "models.edit" in capsys.readouterr().err
    code = main([*db, "rebalance", "households", "set", "H000003", "--target", "blend", "--tax-budget", "500",
                 "--user", "pat.pm"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main([*db, "rebalance", "households", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["households"]
    assert [g["household"] for g in groups] == ["H000003"] and groups[0]["tax_budget"] == 500.0
    assert [a["account"] for a in groups[0]["accounts"]] == ["A000004", "A000005", "A000006"]
    out = tmp_path / "run.json"
    code = main([*db, "rebalance", "--households", "--household", "H000003", "--no-skip", "--executor", "inline",
                 "--user", "pat.pm", "--json", str(out)])  # fmt: skip
    assert code == 0
    recs = json.loads(out.read_text())
    assert len({r["household"]["run_id"] for r in recs}) == 1
    fig = recs[0]["household"]
    assert fig["tax_budget"] == 500.0 and fig["est_tax"] <= 500.0
    assert {"te_before", "te_after", "est_tax", "ytd_gains_used"} <= set(fig)
