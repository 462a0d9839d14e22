"""Tax that knows the year in the account solve: budgets kept, YTD gains in the objective, gains
deferral, equivalents by account type, and the budget table on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

import resources
from engine.demo.build import build_demo_book
from engine.errors import ImportValidationError, PermissionDenied
from engine.rebalance import equivalents
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_batch
from engine.rebalance.context import Context
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.tax_year import TaxYear, list_budgets, set_account_budget
from engine.rebalance.taxes import DEFAULT_RATES, TAX_RATES, is_long_term
from engine.store.database import Database
from engine.store.people import AuditEntry
from workstation.cli.main import main


def _year(**kw: Any) -> TaxYear:
    base: dict[str, Any] = {"ytd_tax": 0.0, "own_ytd_tax": 0.0, "account_budget": None,
                            "household_budget": None, "household_ytd_tax": 0.0}  # fmt: skip
    return TaxYear(**{**base, **kw})


def _solve(u: Universe, accounts: list[AccountInput], **kw: Any) -> list[dict[str, Any]]:
    return run_batch(Context(u, RebalanceSettings(skip_in_band=False, **kw)), accounts)


def _gains_only(rec: dict[str, Any]) -> float:
    """Tax on the lots sold at a gain (losses not netted): what the budget caps."""
    return sum(max(lot["est_tax"], 0.0) for t in rec["trades"] for lot in t.get("lots", []))


@pytest.fixture(scope="module")
def plain_taxable(loaded: Any) -> list[tuple[AccountInput, dict[str, Any]]]:
    """Taxable USD accounts and their plain full rebalance, most gains tax first."""
    u, accounts = loaded
    taxable = [replace(a, year=None) for a in accounts if a.tax_status == "taxable" and a.base == "USD"]
    recs = _solve(u, [replace(a) for a in taxable])
    return sorted(zip(taxable, recs), key=lambda x: -_gains_only(x[1]))


@pytest.fixture(scope="module")
def taxed(loaded: Any, plain_taxable: Any) -> tuple[AccountInput, dict[str, Any]]:
    """The account with the most gains tax whose plain proposal can stay within a third of it."""
    u, _ = loaded
    for a, plain in plain_taxable:
        rec = _solve(u, [replace(a, year=_year(account_budget=_gains_only(plain) / 3))])[0]
        if rec["tax_budget"]["kept"] and _gains_only(plain) > 300:
            return a, plain
    raise AssertionError("no account pays gains tax that a budget can cut")


def test_an_account_annual_budget_is_kept_after_rounding(loaded: Any, taxed: Any) -> None:
    u, _ = loaded
    a, plain = taxed
    budget = round(_gains_only(plain) / 3, 2)
    rec = _solve(u, [replace(a, year=_year(account_budget=budget))])[0]
    assert rec["status"] == "ok" and rec["tax_budget"]["kept"]
    assert _gains_only(rec) <= budget + 0.01 and rec["est_tax"] <= budget + 0.01
    assert rec["tax_budget"]["cap"] == budget
    # Tax already realized this year counts against the annual budget.
    rec = _solve(u, [replace(a, year=_year(account_budget=budget, own_ytd_tax=budget / 2))])[0]
    assert rec["est_tax"] <= budget / 2 + 0.01 and _gains_only(rec) <= budget / 2 + 1.0
    assert rec["tax_budget"]["cap"] == pytest.approx(budget / 2, abs=0.01)
    # Spent: no gains tax more this year.
    rec = _solve(u, [replace(a, year=_year(account_budget=budget, own_ytd_tax=budget))])[0]
    assert rec["status"] == "ok" and rec["est_tax"] <= 0.01 and _gains_only(rec) <= 1.0


def test_a_budget_the_forced_sales_exceed_is_named(loaded: Any, plain_taxable: Any) -> None:
    u, _ = loaded
    missed = 0
    for a, plain in plain_taxable[:3]:
        rec = _solve(u, [replace(a, year=_year(account_budget=_gains_only(plain) / 3))])[0]
        if not rec["tax_budget"]["kept"]:
            missed += 1
            assert (
                rec["status"] == "ok"
                and "infeasible" in rec["reason"]
                and "solved without it" in rec["reason"]
            )
    assert missed >= 1  # the demo book has an account whose forced sales cost more


def test_a_household_budget_is_shared_by_its_accounts_in_a_run(loaded: Any, taxed: Any) -> None:
    u, _ = loaded
    a, plain = taxed
    budget = round(_gains_only(plain) * 0.6, 2)
    year = _year(household_budget=budget)
    # The same account twice in one household (a second account with the same lots): together
    # they would pay twice the plain tax; the household budget caps their sum.
    twin = replace(a, id=a.id + 100_000, code=a.code + "B", year=year)
    recs = _solve(u, [replace(a, year=year), twin])
    assert all(r["status"] == "ok" and r["tax_budget"]["kept"] for r in recs), [r["reason"] for r in recs]
    assert _gains_only(recs[0]) + _gains_only(recs[1]) <= budget + 0.02
    assert recs[1]["tax_budget"]["spent_in_run"] == pytest.approx(recs[0]["est_tax"], abs=0.01)


def test_year_to_date_gains_make_loss_sales_worth_their_tax(loaded: Any, taxed: Any) -> None:
    u, _ = loaded
    a, plain = taxed

    def losses(rec: dict[str, Any]) -> float:
        return -sum(min(lot["gain"], 0.0) for t in rec["trades"] for lot in t.get("lots", []))

    ytd = _solve(u, [replace(a, year=_year(ytd_tax=50_000.0))])[0]
    assert ytd["status"] == "ok"
    assert losses(ytd) > losses(plain) + 1000  # losses now net the household's year
    assert ytd["est_tax"] < plain["est_tax"]
    # A carry-forward (the year's tax negative): gains up to it cost nothing, so the solve sells
    # overweights it held back for tax and ends nearer its model.
    carry = _solve(u, [replace(a, year=_year(ytd_tax=-50_000.0))])[0]
    assert carry["est_tax"] >= plain["est_tax"] - 0.01
    assert carry["after"]["tracking_error"] <= plain["after"]["tracking_error"] + 1e-6


def _deferrable(u: Universe, a: AccountInput, days: int) -> set[int]:
    """Lot ids of gain lots, short-term today and long-term within `days` (computed here)."""
    price = (
        u.price[a.lot_sec]
        * u.multiplier[a.lot_sec]
        * np.array([u.fx_to[a.base][c] for c in u.currency[a.lot_sec]])
    )
    gain = price - a.lot_cost * u.multiplier[a.lot_sec] * a.lot_fx
    short = ~is_long_term(a.lot_acquired, u.as_of)
    soon = is_long_term(a.lot_acquired, u.as_of + timedelta(days=days))
    excluded = np.isin(a.lot_sec, a.excluded)
    if (
        a.tax_status != "taxable"
        or TAX_RATES.get(a.jurisdiction, DEFAULT_RATES).short_term
        <= TAX_RATES.get(a.jurisdiction, DEFAULT_RATES).long_term
    ):
        return set()  # waiting saves nothing
    return {int(x) for x in a.lot_id[short & soon & (gain > 0) & ~excluded]}


def _lot_values(u: Universe, a: AccountInput) -> np.ndarray:
    fx = np.array([u.fx_to[a.base][c] for c in u.currency[a.lot_sec]])
    return np.asarray(a.lot_qty * u.price[a.lot_sec] * u.multiplier[a.lot_sec] * fx)


def _most_deferred(u: Universe, accounts: list[AccountInput], days: int, k: int) -> list[AccountInput]:
    """The k taxable accounts with the largest share of their lots' value deferred."""

    def share(a: AccountInput) -> float:
        v = _lot_values(u, a)
        return float(v[np.isin(a.lot_id, list(_deferrable(u, a, days)))].sum() / max(v.sum(), 1.0))

    return sorted((a for a in accounts if a.tax_status == "taxable"), key=share, reverse=True)[:k]


def test_gains_deferral_holds_back_lots_about_to_turn_long_term(loaded: Any) -> None:
    u, accounts = loaded
    days = 365
    sold_plain = sold_deferred = 0
    for a in _most_deferred(u, accounts, days, 4):
        lots = _deferrable(u, a, days)
        raise_ = {"mode": Mode.CASH_RAISE, "cash_raise_base": 0.3 * float(_lot_values(u, a).sum())}
        p = _solve(u, [replace(a)], **raise_)[0]
        d = _solve(u, [replace(a)], defer_gains_days=days, **raise_)[0]
        sold_plain += sum(lot["lot_id"] in lots for t in p["trades"] for lot in t.get("lots", []))
        assert d["status"] == p["status"], d["reason"]
        for t in d["trades"]:
            for lot in t.get("lots", []):
                if lot["lot_id"] in lots:
                    sold_deferred += 1
                    assert "gains deferral overridden" in t["reason"] and "forced by" in d["reason"]
    assert sold_plain >= 3 and sold_deferred < sold_plain


def test_a_forced_sale_overrides_the_deferral_and_names_it(loaded: Any) -> None:
    u, accounts = loaded
    days = 365
    a = _most_deferred(u, accounts, days, 1)[0]
    lots = _deferrable(u, a, days)
    value = _lot_values(u, a)
    is_deferred = np.isin(a.lot_id, list(lots))
    # More than every lot that is not deferred can raise (after costs): some deferred lot must go.
    raise_ = float(0.995 * value[~is_deferred].sum() + 0.3 * value[is_deferred].sum())
    assert 0.3 * value[is_deferred].sum() > 0.01 * value[~is_deferred].sum()
    rec = _solve(u, [replace(a)], mode=Mode.CASH_RAISE, cash_raise_base=raise_, defer_gains_days=days)[0]
    assert rec["status"] == "ok", rec["reason"]
    assert rec["reason"].startswith("gains deferral:") and "forced by" in rec["reason"]
    forced = [t for t in rec["trades"] if any(lot["lot_id"] in lots for lot in t.get("lots", []))]
    assert forced and all("gains deferral overridden" in t["reason"] for t in forced)


def test_equivalents_replace_model_securities_by_account_type(
    loaded: Any, book: Database, tmp_path: Path
) -> None:
    u0, accounts = loaded
    a = next(x for x in accounts if x.tax_status == "taxable" and x.model_id is not None)
    model = u0.models[a.model_id]  # type: ignore[index]
    held = set(a.lot_sec.tolist())
    sym_i = int(next(i for i in np.argsort(-model) if model[i] > 0 and u0.asset_class[i] == "equity"))
    eq_i = int(
        next(
            i for i in range(len(u0.ids)) if model[i] == 0 and u0.asset_class[i] == "equity" and i not in held
        )
    )
    path = tmp_path / "eq.csv"
    path.write_text(f"account_type,symbol,equivalent\ntaxable,{u0.symbols[sym_i]},{u0.symbols[eq_i]}\n")
    s = RebalanceSettings(skip_in_band=False, equivalents_file=str(path))
    u, loaded_accounts = load_run(book, [a.id, *(x.id for x in accounts if x.tax_status != "taxable")][:5], s)
    mine = next(x for x in loaded_accounts if x.id == a.id)
    derived = u.models[mine.model_id]  # type: ignore[index]
    assert mine.model_id == equivalents.derived_id(a.model_id, "taxable")  # type: ignore[arg-type]
    assert derived[eq_i] == pytest.approx(model[sym_i]) and derived[sym_i] == 0.0
    assert u.model_codes[mine.model_id] == u0.model_codes[a.model_id]  # type: ignore[index]
    others = [x for x in loaded_accounts if x.tax_status != "taxable"]
    assert all(x.model_id is None or x.model_id > 0 for x in others)  # other types keep the model
    rec = run_batch(Context(u, s), [mine])[0]
    buys = {t["symbol"] for t in rec["trades"] if t["side"] == "buy"}
    assert str(u.symbols[sym_i]) not in buys and str(u.symbols[eq_i]) in buys
    bad = tmp_path / "bad.csv"
    bad.write_text("account_type,symbol,equivalent\nira,X,Y\ntaxable,NOPE,Y\n")
    with pytest.raises(ImportValidationError) as err:
        equivalents.read_equivalents(bad, u0)
    lines = err.value.lines()
    assert any("row 2" in x and "account_type" in x for x in lines)
    assert any("row 3" in x and "symbol" in x and "NOPE" in x for x in lines)


def test_account_budgets_are_stored_audited_and_refused_without_models_edit(database: Database) -> None:
    build_demo_book(database, resources.path("reference"), accounts=2, seed=3, today=date(2026, 11, 22))
    with database.transaction() as s:
        out = set_account_budget(s, "pat.pm", "A000001", Decimal("2500"))
    assert out == {"account": "A000001", "currency": out["currency"], "tax_budget": 2500.0}
    with pytest.raises(PermissionDenied), database.transaction() as s:
        set_account_budget(s, "tara.trader", "A000001", Decimal("1"))
    with database.session() as s:
        rows = list_budgets(s, date(2026, 11, 22))
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "tax_budget.set")).all()
    assert [(r["account"], r["tax_budget"]) for r in rows] == [("A000001", 2500.0)]
    assert len(audit) == 1
    _u, accs = load_run(database, None)
    a = next(x for x in accs if x.code == "A000001")
    if a.tax_status == "taxable":
        assert a.year is not None and a.year.account_budget == 2500.0
    with database.transaction() as s:
        set_account_budget(s, "pat.pm", "A000001", None)
    with database.session() as s:
        assert list_budgets(s, date(2026, 11, 22)) == []


def test_cli_sets_and_lists_tax_budgets(book_path: Path, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "book.db"
    shutil.copy(book_path, path)
    db = ["--db", f"sqlite:///{path}"]
    assert (
        main([*db, "rebalance", "tax-budget", "set", "A000005", "--amount", "750", "--user", "tara.trader"])
        == 2
    )
    assert "models.edit" in capsys.readouterr().err
    assert (
        main(
            [
                *db,
                "rebalance",
                "tax-budget",
                "set",
                "A000005",
                "--amount",
                "750",
                "--user",
                "pat.pm",
                "--json",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert json.loads(text[text.index("{") :])["tax_budget"] == 750.0
    assert main([*db, "rebalance", "tax-budget", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["tax_budgets"]
    assert [(r["account"], r["tax_budget"]) for r in rows] == [("A000005", 750.0)]
    out = tmp_path / "run.json"
    assert main([*db, "rebalance", "--accounts", "A000005", "--no-skip", "--no-save", "--executor", "inline",
                 "--json", str(out)]) == 0  # fmt: skip
    rec = json.loads(out.read_text())[0]
    assert _gains_only(rec) <= 750.0 + 0.01 and rec["tax_budget"]["cap"] == 750.0
    assert main([*db, "rebalance", "tax-budget", "set", "NOPE", "--amount", "1", "--user", "pat.pm"]) == 2
    capsys.readouterr()
    for bad in (["--households", "--style", "directed", "--directed", "AGA:buy:0.02"],
                ["--sleeve", "etf"], ["--style", "tactical"], ["--style", "tactical", "--sleeve", "nope"]):  # fmt: skip
        assert main([*db, "rebalance", "--no-save", *bad]) == 2
        assert capsys.readouterr().err.startswith("error:")
