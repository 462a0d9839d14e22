"""Tax-loss harvesting: thresholds, the interval, substitutes as data, the household wash window.

Expectations are computed here from the lots, prices and the substitute CSV read with the csv
module, not from engine.rebalance.harvest, and every proposal is a real Clarabel/rounding/check
run of `rebalance_account` on the demo book.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.accounting.tables import Booking, RealizedGain
from engine.errors import ImportValidationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_batch
from engine.rebalance.context import Context
from engine.rebalance.harvest import SUBSTITUTES_FILE, attach_harvest_history, read_substitutes
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.solve import rebalance_account
from engine.store.database import Database
from workstation.cli.main import main

MIN_LOSS = 1000.0
MIN_PCT = 0.05


def _groups() -> dict[str, str]:
    with SUBSTITUTES_FILE.open(newline="") as fh:
        return {r["symbol"]: r["group"] for r in csv.DictReader(fh)}


def _lot_loss(u: Universe, a: AccountInput, j: int) -> tuple[float, float]:
    """(loss in base, loss / cost) of lot j, from the lot and the close (independent arithmetic)."""
    i = a.lot_sec[j]
    fx = u.fx_to[a.base][str(u.currency[i])]
    value = a.lot_qty[j] * u.price[i] * u.multiplier[i] * fx
    cost = a.lot_qty[j] * a.lot_cost[j] * u.multiplier[i] * a.lot_fx[j]
    return cost - value, (cost - value) / cost


def _taxable(accounts: list[AccountInput]) -> list[AccountInput]:
    return [replace(a) for a in accounts if a.tax_status == "taxable"]


def _settings(**kw: Any) -> RebalanceSettings:
    base = {"harvest_min_loss_base": MIN_LOSS, "harvest_min_pct": MIN_PCT, "mode": Mode.TAX_LOSS_HARVEST}
    return RebalanceSettings(**{**base, **kw})


def test_shipped_substitute_list_is_valid_for_the_demo_universe(loaded: Any) -> None:
    u, _ = loaded
    groups = read_substitutes(SUBSTITUTES_FILE, u)
    assert (groups >= 0).sum() == len(_groups())
    for g in set(groups[groups >= 0].tolist()):
        members = np.flatnonzero(groups == g)
        assert len(members) >= 2
        assert len(set(u.asset_class[members])) == 1
        assert len(set(u.wash_group[members].tolist())) == len(members)  # never substantially identical


def test_bad_substitute_rows_are_named_by_row_field_and_reason(loaded: Any, tmp_path: Path) -> None:
    u, _ = loaded
    adr = int(np.flatnonzero(u.asset_class == "adr")[0])
    ordinary = str(u.symbols[u.wash_group[adr]])
    eq = [str(s) for s in u.symbols[u.asset_class == "equity"][:6] if s != ordinary]
    bad = tmp_path / "subs.csv"
    bad.write_text(
        "asset_class,group,symbol\n"
        f"equity,G1,{eq[0]}\n"  # row 2 ok
        "equity,G1,NOPE\n"  # row 3 unknown
        f"etf,G1,{eq[1]}\n"  # row 4 asset class
        f"equity,G1,{eq[0]}\n"  # row 5 duplicate
        f"adr,G2,{u.symbols[adr]}\n"  # row 6 ok
        f"adr,G2,{ordinary}\n"  # row 7: an equity, also substantially identical
        f"equity,G3,{eq[2]}\n"  # row 8: a group of one
        f"equity,G1,{eq[3]}\n"
    )
    with pytest.raises(ImportValidationError) as err:
        read_substitutes(bad, u)
    got = {(p.row, p.column): p.reason for p in err.value.problems}
    assert "unknown security 'NOPE'" in got[(3, "symbol")]
    assert "not 'etf'" in got[(4, "asset_class")]
    assert "another substitute group" in got[(5, "symbol")]
    assert (7, "asset_class") in got
    assert "one security" in got[(6, "group")] and "one security" in got[(8, "group")]
    twin = tmp_path / "twin.csv"
    twin.write_text(f"asset_class,group,symbol\nequity,G,{eq[4]}\nequity,G,{eq[4]}X\n")
    with pytest.raises(ImportValidationError):
        read_substitutes(twin, u)
    missing = tmp_path / "cols.csv"
    missing.write_text("group,symbol\nG,X\n")
    with pytest.raises(ImportValidationError) as err:
        read_substitutes(missing, u)
    assert [(p.row, p.column) for p in err.value.problems] == [(1, "asset_class")]


def test_harvest_sells_only_lots_past_both_thresholds_and_buys_their_substitute(loaded: Any) -> None:
    u, accounts = loaded
    subs = _groups()
    sym_group = {str(s): int(g) for s, g in zip(u.symbols, u.wash_group)}
    ctx = Context(u, _settings())
    harvested = skipped_small = 0
    total_sold = total_bought = 0.0
    for a in _taxable(accounts)[:25]:
        rec = rebalance_account(ctx, a)
        assert rec["status"] == "ok", rec["reason"]
        lot_index = {int(x): j for j, x in enumerate(a.lot_id)}
        sold_value: dict[str, float] = defaultdict(float)
        sold_lots = set()
        for t in rec["trades"]:
            if t["side"] != "sell":
                continue
            if not t["reason"].startswith("harvest"):  # a forced sale: exclusion or cap
                assert t["reason"].startswith(("sell:", "trim:")), t
                continue
            for lot in t["lots"]:
                loss, pct = _lot_loss(u, a, lot_index[lot["lot_id"]])
                assert loss > MIN_LOSS and pct > MIN_PCT, (a.code, t["symbol"], loss, pct)
                sold_lots.add(lot["lot_id"])
            sold_value[t["symbol"]] += t["est_value_base"]
        for j in range(len(a.lot_id)):
            loss, pct = _lot_loss(u, a, j)
            if loss > 0 and (loss <= MIN_LOSS or pct <= MIN_PCT):
                assert int(a.lot_id[j]) not in sold_lots
                skipped_small += 1
        buys = {t["symbol"]: t for t in rec["trades"] if t["side"] == "buy"}
        sold_groups = {sym_group[s] for s in sold_value}
        for sym, t in buys.items():
            assert t["reason"].startswith("buy: substitute for harvested"), t
            sold = t["reason"].split("harvested ")[1].split(" ")[0]
            assert subs[sym] == subs[sold] and sym_group[sym] != sym_group[sold]
            assert sym_group[sym] not in sold_groups  # never buys back what it harvests
        harvest_sold = sum(t["est_value_base"] for t in rec["trades"] if t["reason"].startswith("harvest"))
        if harvest_sold:
            harvested += 1
            total_sold += harvest_sold
            total_bought += sum(t["est_value_base"] for t in buys.values())
    assert harvested >= 3 and skipped_small > 0
    # Exposure stays: most of what is harvested is bought back in substitutes.
    assert total_bought >= 0.7 * total_sold, (total_bought, total_sold)


def test_higher_thresholds_harvest_less_and_trade_less(loaded: Any) -> None:
    u, accounts = loaded
    sample = _taxable(accounts)[:20]

    def run(**kw: Any) -> tuple[float, float]:
        recs = run_batch(Context(u, _settings(**kw)), [replace(a) for a in sample])
        loss = sum(lot["gain"] for r in recs for t in r["trades"] if t["side"] == "sell" for lot in t["lots"])
        return float(np.mean([r["turnover"] for r in recs])), loss

    loose_turn, loose_loss = run(harvest_min_loss_base=0.0, harvest_min_pct=0.0)
    tight_turn, tight_loss = run(harvest_min_loss_base=5000.0, harvest_min_pct=0.15)
    assert tight_turn < loose_turn
    assert loose_loss < tight_loss <= 0.0


def test_an_account_harvested_within_the_interval_is_not_harvested(loaded: Any) -> None:
    u, accounts = loaded
    ctx = Context(u, _settings(harvest_interval_days=30))
    for a in _taxable(accounts):
        rec = rebalance_account(ctx, replace(a))
        if any(t["reason"].startswith("harvest") for t in rec["trades"]):
            break
    else:
        pytest.fail("no account harvests")
    recent = replace(a, last_harvest=u.as_of - timedelta(days=10))
    rec = rebalance_account(ctx, recent)
    assert rec["status"] == "ok"
    assert not [t for t in rec["trades"] if t["reason"].startswith(("harvest", "buy: substitute"))]
    if rec["rung"] == "harvest":  # else a forced sale (exclusion, cap) still had to be made
        assert rec["trades"] == [] and "last harvest" in rec["reason"]
    # Outside the interval it harvests again.
    rec = rebalance_account(Context(u, _settings(harvest_interval_days=7)), replace(recent))
    assert [t for t in rec["trades"] if t["reason"].startswith("harvest")]


def test_ledger_losses_set_the_interval_and_block_the_household(book: Database, loaded: Any) -> None:
    """A loss realized 5 days ago (realized_gains) in one account: that account is not harvested
    and no account of its household buys the security back."""
    u, accounts = loaded
    by_hh: dict[int, list[AccountInput]] = defaultdict(list)
    for a in accounts:
        by_hh[a.household_id].append(a)
    a = next(x for x in _taxable(accounts) if len(by_hh[x.household_id]) > 1 and len(x.lot_sec))
    sec = int(a.lot_sec[0])
    sold = u.as_of - timedelta(days=5)
    with book.session() as s:
        b = Booking(source_ref="test-harvest-1", kind="trade", account_id=a.id, security_id=int(u.ids[sec]),
                    side="sell", trade_date=sold)  # fmt: skip
        s.add(b)
        s.flush()
        s.add(
            RealizedGain(
                booking_id=b.id, account_id=a.id, security_id=int(u.ids[sec]), lot_ref="L", quantity=Decimal(10),
                acquired=sold - timedelta(days=100), sold=sold, currency="USD", base_currency=a.base,
                proceeds_local=Decimal(900), cost_local=Decimal(1000), proceeds_base=Decimal(900),
                cost_base=Decimal(1000), gain_base=Decimal(-100), price_gain_base=Decimal(-100),
                fx_gain_base=Decimal(0), term="short",
            )
        )  # fmt: skip
        s.flush()
        household = [replace(x) for x in by_hh[a.household_id]]
        attach_harvest_history(s, u, household)
        s.rollback()
    mine = next(x for x in household if x.id == a.id)
    assert mine.last_harvest == sold
    group = int(u.wash_group[sec])
    assert all(group in x.wash_blocked for x in household)  # IRAs too: the whole household
    recs = run_batch(Context(u, _settings()), household)
    assert not [t for t in recs[household.index(mine)]["trades"] if t["reason"].startswith("harvest")]
    bought = {t["symbol"] for r in recs for t in r["trades"] if t["side"] == "buy"}
    assert not {str(s) for s in u.symbols[u.wash_group == group]} & bought


def test_household_wash_window_holds_across_accounts_in_a_run(loaded: Any) -> None:
    """Accounts solved together: no account buys a wash group another account harvests, and an IRA
    is never harvested (no tax to save)."""
    u, accounts = loaded
    sym_group = {str(s): int(g) for s, g in zip(u.symbols, u.wash_group)}
    batch = [replace(a) for a in accounts]
    recs = run_batch(Context(u, _settings()), batch)
    loss_groups: dict[int, set[int]] = defaultdict(set)
    buys: dict[int, set[int]] = defaultdict(set)
    for a, rec in zip(batch, recs):
        assert rec["status"] == "ok", rec["reason"]
        for t in rec["trades"]:
            if t["side"] == "sell" and any(lot["gain"] < 0 for lot in t["lots"]):
                if a.tax_status != "taxable":
                    assert not t["reason"].startswith("harvest"), (a.code, t)
                loss_groups[a.household_id].add(sym_group[t["symbol"]])
            if t["side"] == "buy":
                buys[a.household_id].add(sym_group[t["symbol"]])
    assert sum(map(len, loss_groups.values())) > 0
    for hh, groups in loss_groups.items():
        assert not groups & buys[hh], hh


def test_cli_harvest_options_and_json(book_path: Path, loaded: Any, tmp_path: Path, capsys: Any) -> None:
    _, accounts = loaded
    codes = ",".join(a.code for a in _taxable(accounts)[:6])
    db = f"sqlite:///{book_path}"
    out = tmp_path / "tlh.json"
    args = [
        "--db",
        db,
        "rebalance",
        "--mode",
        "tlh",
        "--accounts",
        codes,
        "--no-save",
        "--executor",
        "inline",
    ]
    assert main([*args, "--harvest-min-loss", "1e12", "--json", str(out)]) == 0
    recs = json.loads(out.read_text())
    assert len(recs) == 6 and all(r["status"] == "ok" for r in recs)
    trades = [t for r in recs for t in r["trades"]]
    assert not [t for t in trades if t["reason"].startswith(("harvest", "buy: substitute"))]
    assert main([*args, "--harvest-min-pct", "1.5"]) == 2
    assert "--harvest-min-pct" in capsys.readouterr().err
    bad = tmp_path / "subs.csv"
    bad.write_text("asset_class,group,symbol\nequity,G,NOPE\n")
    assert main([*args, "--substitutes", str(bad)]) != 0
    assert "row 2, column symbol: unknown security 'NOPE'" in capsys.readouterr().err


def test_configured_identical_groups_join_wash_groups_and_reject_a_substitute_pair(
    book: Database, loaded: Any
) -> None:
    """identical_groups (accounting's 'substantially identical' data) joins two funds' wash groups;
    the shipped list then pairs substantially identical funds, so it is refused, naming the row."""
    from engine.accounting.tables import IdenticalGroup
    from engine.rebalance.harvest import apply_identical_groups

    u, _ = loaded
    twin = replace(u, wash_group=u.wash_group.copy())
    ids = {str(s): int(i) for s, i in zip(u.symbols, u.ids)}
    with book.session() as s:
        s.add_all([IdenticalGroup(security_id=ids[x], group_code="SP500-TWINS") for x in ("SSR", "SLLS")])
        s.flush()
        apply_identical_groups(s, twin)
        s.rollback()
    pos = {str(x): i for i, x in enumerate(u.symbols)}
    assert twin.wash_group[pos["SSR"]] == twin.wash_group[pos["SLLS"]]
    assert u.wash_group[pos["SSR"]] != u.wash_group[pos["SLLS"]]  # the shared universe is untouched
    with pytest.raises(ImportValidationError) as err:
        read_substitutes(SUBSTITUTES_FILE, twin)
    rows = [(p.row, p.column, p.reason) for p in err.value.problems]
    assert rows == [(3, "symbol", "SLLS is substantially identical to SSR (same group)")]
