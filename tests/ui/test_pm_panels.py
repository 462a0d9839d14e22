"""PM workspace against a real demo book: holdings, drift heatmap and FX exposure checked against
an independent Decimal valuation from the raw tables (never against the panels' own queries in
engine/views), drill-down, copy and export, and a rebalance run from the desk that each proposal test
makes for itself (no test depends on another having run first)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF
from sqlalchemy import func, select

from engine.model.currency import minor_units
from engine.store.accounts import Account, Household, ModelComponent
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from engine.views.holdings import long_term_mask
from tests.ui.conftest import copy_book
from tests.ui.helpers import close_window, open_window


def eur_rates(session, on: date) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    """Units of each currency per EUR at the last fixing on or before `on` (EUR = 1)."""
    last = session.scalar(select(func.max(FxRate.date)).where(FxRate.date <= on))
    rates = {
        r.quote: r.rate
        for r in session.scalars(select(FxRate).where(FxRate.date == last, FxRate.base == "EUR"))
    }
    rates["EUR"] = Decimal(1)
    return rates


def last_close(session, security_id: int, as_of: date) -> Decimal:  # type: ignore[no-untyped-def]
    return session.scalar(
        select(PriceBar.close)
        .where(PriceBar.security_id == security_id, PriceBar.date <= as_of)
        .order_by(PriceBar.date.desc())
        .limit(1)
    )


def reference_account(database, code: str, as_of: date) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Value, positions, model targets, sectors and currencies of one account, from raw rows with
    Decimal arithmetic."""
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.code == code)).one()
        eur = eur_rates(s, as_of)
        to_base = lambda ccy: eur[acct.base_currency] / eur[ccy]  # noqa: E731
        mv: dict[str, Decimal] = defaultdict(Decimal)
        for lot in s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id)):
            sec = s.get(Security, lot.security_id)
            close = last_close(s, sec.id, as_of)
            mv[sec.symbol] += lot.quantity * close * sec.price_multiplier * to_base(sec.currency)
        cash_by_ccy: dict[str, Decimal] = defaultdict(Decimal)
        for c in s.scalars(select(CashBalance).where(CashBalance.account_id == acct.id)):
            cash_by_ccy[c.currency] += (c.settled + c.unsettled) * to_base(c.currency)
        cash = sum(cash_by_ccy.values(), Decimal(0))
        comps = s.scalars(select(ModelComponent)).all()
        by_model: dict[int, list[ModelComponent]] = defaultdict(list)
        for c in comps:
            by_model[c.model_id].append(c)

        def look(model_id: int, scale: Decimal) -> dict[int, Decimal]:
            out: dict[int, Decimal] = defaultdict(Decimal)
            for c in by_model[model_id]:
                if c.security_id is not None:
                    out[c.security_id] += scale * c.weight
                else:
                    for k, v in look(c.sub_model_id, scale * c.weight).items():
                        out[k] += v
            return out

        targets = {
            s.get(Security, k).symbol: v * (1 - acct.cash_target)
            for k, v in look(acct.model_id, Decimal(1)).items()
        }
        info = {
            sec.symbol: (sec.sector, sec.currency)
            for sec in s.scalars(select(Security).where(Security.symbol.in_(set(mv) | set(targets))))
        }
    total = sum(mv.values(), Decimal(0)) + cash
    return {
        "id": acct.id,
        "total": total,
        "cash": cash,
        "cash_by_ccy": cash_by_ccy,
        "cash_target": acct.cash_target,
        "mv": mv,
        "targets": targets,
        "info": info,
        "base": acct.base_currency,
    }


def reference_drift(ref: dict, kind: str) -> dict[str, float]:  # type: ignore[type-arg]
    """Drift (weight - target) summed per sector ('Cash' for cash) or per currency, by hand."""
    total = ref["total"]
    out: dict[str, Decimal] = defaultdict(Decimal)
    for sym in set(ref["mv"]) | set(ref["targets"]):
        sector, ccy = ref["info"][sym]
        out[sector if kind == "sector" else ccy] += ref["mv"].get(sym, 0) / total - ref["targets"].get(sym, 0)
    for ccy, value in ref["cash_by_ccy"].items():
        out["Cash" if kind == "sector" else ccy] += value / total
    out["Cash" if kind == "sector" else ref["base"]] -= ref["cash_target"]
    return {k: float(v) for k, v in out.items()}


def next_holding_year(acquired: date) -> date:
    """The first day a lot is long-term: the holding period starts the day after acquisition and a
    year later the next one starts (Rev. Rul. 66-7; a missing 29 February turns on 1 March)."""
    start = acquired + pd.Timedelta(days=1)
    try:
        return date(start.year + 1, start.month, start.day)
    except ValueError:
        return date(start.year + 1, 3, 1)


@pytest.fixture(scope="module")
def demo_db(demo_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    """This module's own copy of the session book: it runs a rebalance and sends a proposal to
    compliance, which would leave proposals and cases in the book other modules read."""
    database = copy_book(demo_db, tmp_path_factory.mktemp("pm-book") / "book.db")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def pm_window(qtbot_module, demo_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    window = open_window(qtbot_module, demo_db, "pat.pm", tmp_path_factory.mktemp("pm") / "s.ini")
    yield window
    close_window(window)


def test_pm_workspace_shows_its_docks(pm_window) -> None:  # type: ignore[no-untyped-def]
    visible = {name for name, d in pm_window.docks.items() if not d.isHidden()}
    assert {"drift", "fx", "holdings", "proposals"} <= visible
    assert "orders" not in visible
    names = [d.objectName() for d in pm_window.docks.values()]
    assert len(set(names)) == len(names) and all(n.startswith("dock.") for n in names)


def test_account_values_match_an_independent_decimal_valuation(pm_window, demo_db) -> None:  # type: ignore[no-untyped-def]
    grid = pm_window.docks["holdings"].grid
    model = grid.models["accounts"]
    as_of = pm_window.desk.book.snap.as_of
    assert model.rowCount() == 12
    for row in (0, 5, 11):
        code = model.value(row, "code")
        ref = reference_account(demo_db, code, as_of)
        assert model.value(row, "value_base") == pytest.approx(float(ref["total"]), rel=1e-9)
        assert model.value(row, "cash_base") == pytest.approx(float(ref["cash"]), rel=1e-9)
        assert model.data(model.index(row, 5)).endswith(" " + ref["base"])


def test_drill_down_positions_weights_drift_and_lots(pm_window, demo_db, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    panel = pm_window.docks["holdings"]
    grid = panel.grid
    accounts = grid.models["accounts"]
    code = accounts.value(2, "code")
    grid.views["accounts"].doubleClicked.emit(accounts.index(2, 0))
    assert grid.level == "positions"
    pos = grid.models["positions"]
    ref = reference_account(demo_db, code, pm_window.desk.book.snap.as_of)
    total = float(ref["total"])
    got = {pos.value(r, "symbol"): r for r in range(pos.rowCount())}
    for sym, mv in ref["mv"].items():
        r = got[sym]
        assert pos.value(r, "mv_base") == pytest.approx(float(mv), rel=1e-9)
        assert pos.value(r, "weight") == pytest.approx(float(mv) / total, rel=1e-9)
        assert pos.value(r, "target") == pytest.approx(float(ref["targets"].get(sym, 0)), abs=1e-12)
        assert pos.value(r, "drift") == pytest.approx(
            float(mv) / total - float(ref["targets"].get(sym, 0)), abs=1e-9
        )
    # a model security the account does not hold shows with weight 0 and negative drift
    missing = set(ref["targets"]) - set(ref["mv"])
    for sym in missing:
        assert pos.value(got[sym], "weight") == 0 and pos.value(got[sym], "drift") < 0
    assert float(np.sum(pos.column_values("weight").astype(float))) == pytest.approx(1.0, abs=1e-9)
    # lots of the largest position: short/long split by the US more-than-one-year rule
    top = max(ref["mv"], key=lambda s: ref["mv"][s])
    r = got[top]
    grid.views["positions"].doubleClicked.emit(pos.index(r, 0))
    qtbot_module.waitUntil(lambda: grid.level == "lots", timeout=10_000)  # lot refs read in a worker
    lots = grid.models["lots"]
    as_of = pm_window.desk.book.snap.as_of
    with demo_db.session() as s:
        sid = s.scalar(select(Security.id).where(Security.symbol == top))
        rows = s.scalars(
            select(TaxLot).where(TaxLot.account_id == ref["id"], TaxLot.security_id == sid)
        ).all()
    assert lots.rowCount() == len(rows)
    by_ref = {lot.lot_ref: lot for lot in rows}
    for i in range(lots.rowCount()):
        lot = by_ref[lots.value(i, "lot_ref")]
        assert lots.value(i, "term") == ("long" if as_of >= next_holding_year(lot.acquired) else "short")
        assert lots.value(i, "quantity") == pytest.approx(float(lot.quantity))
    # breadcrumb back to accounts
    grid.back_requested.emit("accounts")
    assert grid.level == "accounts" and grid.model.rowCount() == 12


def test_us_holding_period_rule_edges() -> None:
    acquired = pd.Series(
        pd.to_datetime(["2025-10-30", "2025-10-29", "2024-02-29", "2024-02-29", "2023-02-28", "2023-02-28"])
    )
    as_of = [date(2026, 10, 30), date(2026, 10, 30), date(2025, 2, 28), date(2025, 3, 1)]
    as_of += [date(2024, 2, 29), date(2024, 3, 1)]
    got = [bool(long_term_mask(acquired.iloc[[i]], d)[0]) for i, d in enumerate(as_of)]
    want = [d >= next_holding_year(a.date()) for a, d in zip(acquired, as_of)]
    assert got == want == [False, True, False, True, False, True]  # exactly one year is short-term


def test_quick_filter_copy_and_export(pm_window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grid = pm_window.docks["holdings"].grid
    code = grid.models["accounts"].value(4, "code")
    grid.filter.setText(code.lower())
    assert grid.model.rowCount() == 1 and grid.model.value(0, "code") == code
    grid.view.selectRow(0)
    text = grid.copy()
    assert text.splitlines()[1].split("\t")[0] == code
    grid.export(tmp_path / "a.xlsx")
    back = pd.read_excel(tmp_path / "a.xlsx")
    assert back["Account"].tolist() == [code]
    grid.filter.setText("")
    assert grid.model.rowCount() == 12


def test_drift_heatmap_matches_a_hand_valuation_and_click_opens_the_account(
    pm_window, demo_db, qtbot_module
) -> None:  # type: ignore[no-untyped-def]
    heat = pm_window.docks["drift"].heatmap
    as_of = pm_window.desk.book.snap.as_of
    assert heat.values.shape == (12, len(heat.buckets))
    for i in (0, 11):
        expect = reference_drift(reference_account(demo_db, heat.codes[i], as_of), "sector")
        assert {b for b, v in expect.items() if abs(v) > 1e-12} <= set(heat.buckets)
        for j, b in enumerate(heat.buckets):
            assert heat.values[i, j] == pytest.approx(expect.get(b, 0.0), abs=1e-9), (heat.codes[i], b)
    acct = int(heat.account_ids[0])
    # worst account first, symmetric colour levels centred on zero
    worst = np.abs(heat.values).max(axis=1)
    assert worst[0] == worst.max()
    lo, hi = heat.image.getLevels()
    assert lo == pytest.approx(-hi)
    assert "drift" in heat.describe(0, 0) and heat.codes[0] in heat.describe(0, 0)
    # click the centre of cell (0, 0): the holdings grid opens that account's positions
    centre = heat.plot.getViewBox().mapViewToScene(QPointF(0.5, 0.5))
    assert heat.cell_at(centre) == (0, 0)
    with qtbot_module.waitSignal(pm_window.desk.account_selected) as sig:
        heat.account_clicked.emit(int(heat.account_ids[0]))
    assert sig.args == [acct]
    grid = pm_window.docks["holdings"].grid
    assert grid.level == "positions" and set(grid.model.column_values("account_id")) == {acct}
    heat.kind.setCurrentText("currency")  # grouped again in a worker (1.2M positions at scale)
    panel = pm_window.docks["drift"]
    qtbot_module.waitUntil(lambda: panel._asked == panel._asked_done, timeout=15_000)
    assert set(heat.buckets) <= {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD"}
    assert np.abs(heat.values.sum(axis=1)).max() < 1e-9  # weights and targets both sum to 1
    expect = reference_drift(reference_account(demo_db, heat.codes[0], as_of), "currency")
    for j, b in enumerate(heat.buckets):
        assert heat.values[0, j] == pytest.approx(expect.get(b, 0.0), abs=1e-9), b
    grid.back_requested.emit("accounts")


def test_heatmap_handles_ten_thousand_accounts(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Scale check of the widget alone (synthetic matrix, never shown as book data)."""
    from widgets.drift_heatmap import TABLE_LIMIT, DriftHeatmap

    heat = DriftHeatmap()
    qtbot.addWidget(heat)
    n, m = 10_000, 14
    v = np.random.default_rng(1).normal(0, 0.01, (n, m))
    heat.set_matrix(
        np.arange(n),
        [f"A{i:06d}" for i in range(n)],
        [f"B{j}" for j in range(m)],
        v,
        v,
        v * 0,
        np.full(n, 0.03),
    )
    assert heat.image.image.shape == (n, m)
    assert heat.table_model.rowCount() == TABLE_LIMIT
    ticks = heat.bottom.tickValues(0, n, 900)[0][1]
    assert len(ticks) < 20  # labels thin out at full zoom-out


def reference_exposure(
    database, as_of: date, household: str | None = None
) -> tuple[str, dict[str, dict[str, float]]]:  # type: ignore[no-untyped-def]
    """Per currency, from raw rows in Decimal: local amount (lots at the last close plus cash), its
    value in the reporting currency (the accounts' common base, else USD) at the as-of fixing, and
    the FX move between the last two fixings on or before the as-of date."""
    with database.session() as s:
        q = select(Account)
        if household is not None:
            q = q.join(Household, Household.id == Account.household_id).where(Household.code == household)
        accts = s.scalars(q).all()
        bases = {a.base_currency for a in accts}
        ccy = bases.pop() if len(bases) == 1 else "USD"
        ids = [a.id for a in accts]
        local: dict[str, Decimal] = defaultdict(Decimal)
        for lot in s.scalars(select(TaxLot).where(TaxLot.account_id.in_(ids))):
            sec = s.get(Security, lot.security_id)
            local[sec.currency] += lot.quantity * last_close(s, sec.id, as_of) * sec.price_multiplier
        for c in s.scalars(select(CashBalance).where(CashBalance.account_id.in_(ids))):
            local[c.currency] += c.settled + c.unsettled
        d1, d0 = s.scalars(
            select(FxRate.date).where(FxRate.date <= as_of).distinct().order_by(FxRate.date.desc()).limit(2)
        ).all()
        now, r1, r0 = eur_rates(s, as_of), eur_rates(s, d1), eur_rates(s, d0)
    rows = {
        c: {
            "local": float(v),
            "exposure": float(v * now[ccy] / now[c]),
            "change_today": float(v * (r1[ccy] / r1[c] - r0[ccy] / r0[c])),
        }
        for c, v in local.items()
    }
    return ccy, rows


def _panel_rows(panel) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    m = panel.model
    keys = ("local", "exposure", "pct", "change_today", "hedge_ratio")
    return {m.value(r, "currency"): {k: float(m.value(r, k)) for k in keys} for r in range(m.rowCount())}


def test_fx_exposure_panel_matches_a_hand_valuation_for_the_firm_and_a_household(
    pm_window, demo_db, qtbot_module
) -> None:  # type: ignore[no-untyped-def]
    panel = pm_window.docks["fx"].panel
    as_of = pm_window.desk.book.snap.as_of
    for household in (None, "first"):
        if household == "first":
            with demo_db.session() as s:
                household = s.scalars(select(Household.code).order_by(Household.code)).first()
            panel.scope_kind.setCurrentText("household")
            panel.scope_key.setCurrentText(household)
            qtbot_module.waitUntil(
                lambda h=household: f"Household {h}" in panel.caption.text(), timeout=30_000
            )
        ccy, want = reference_exposure(demo_db, as_of, household)
        qtbot_module.waitUntil(lambda w=want: set(_panel_rows(panel)) == set(w), timeout=30_000)
        got = _panel_rows(panel)
        total = sum(r["exposure"] for r in want.values())
        assert f"{total:,.{minor_units(ccy)}f} {ccy}" in panel.caption.text()  # ISO 4217 minor units
        for c, row in want.items():
            # money to its currency's minor units, lines rounded so they add up to the total shown
            assert got[c]["local"] == pytest.approx(row["local"], abs=10.0 ** -minor_units(c)), c
            assert got[c]["exposure"] == pytest.approx(row["exposure"], abs=10.0 ** -minor_units(ccy)), c
            # shown to 0.01% (largest remainder, so the column adds up to 100.00%)
            assert abs(got[c]["pct"] - row["exposure"] / total) <= 0.0001 + 1e-12, c
            assert got[c]["change_today"] == pytest.approx(row["change_today"], rel=1e-6, abs=1e-6), c
            assert got[c]["hedge_ratio"] == 0  # no hedges are booked in the demo book
        assert sum(r["pct"] for r in got.values()) == pytest.approx(1.0, abs=1e-9)
    panel.scope_kind.setCurrentText("firm")


def test_grid_drift_agrees_with_the_rebalance_engines_drift(pm_window, demo_db) -> None:  # type: ignore[no-untyped-def]
    """The heatmap/grid adapter and engine/rebalance/drift.py use the same conventions."""
    from engine.rebalance.drift import book_drift
    from engine.rebalance.run_inputs import load_run

    u, accounts = load_run(demo_db, None)
    bd = book_drift(u, accounts)
    pos = pm_window.desk.book.positions
    secs = pos[pos["security_id"] >= 0]
    col = {int(s): j for j, s in enumerate(u.ids)}
    checked = 0
    for i, a in enumerate(accounts):
        mine = secs[secs["account_id"] == a.id]
        for sid, drift in zip(mine["security_id"], mine["drift"]):
            assert drift == pytest.approx(float(bd.drift[i, col[int(sid)]]), abs=1e-9)
            checked += 1
        cash = pos[(pos["account_id"] == a.id) & (pos["security_id"] < 0)]["weight"].sum()
        assert cash == pytest.approx(float(bd.cash_weight()[i]), abs=1e-9)
    assert checked > 500


@pytest.fixture(scope="module")
def desk_run(pm_window, demo_db, qtbot_module) -> tuple[list[str], list[int]]:  # type: ignore[no-untyped-def]
    """A rebalance of two accounts run from the desk's proposals dock: (codes, new proposal ids).
    A module fixture, so each test that needs proposals gets them whatever ran before it."""
    from engine.rebalance.tables import Proposal

    panel = pm_window.docks["proposals"]
    panel.refresh()
    qtbot_module.waitUntil(lambda: not pm_window.desk.jobs.running, timeout=10_000)
    with demo_db.session() as s:
        before = set(s.scalars(select(Proposal.id)))
    codes = list(pm_window.desk.book.snap.accounts["code"][:2])
    panel.selection.setCurrentText("list")
    panel.value.setText(", ".join(codes))
    panel.mode.setCurrentText("full")
    panel.run_rebalance()
    qtbot_module.waitUntil(
        lambda: panel.run_button.isEnabled() and not pm_window.desk.jobs.running, timeout=120_000
    )
    with demo_db.session() as s:
        rows = [p for p in s.scalars(select(Proposal)) if p.id not in before]
    assert {r.payload["account"] for r in rows} == set(codes) and len(rows) == 2
    model = panel.blotter.model
    qtbot_module.waitUntil(lambda: all(model.view_row_of_key(r.id) >= 0 for r in rows), timeout=10_000)
    return codes, sorted(r.id for r in rows)


def test_run_a_rebalance_from_the_desk_and_review_a_proposal(
    pm_window, demo_db, qtbot_module, desk_run
) -> None:  # type: ignore[no-untyped-def]
    from engine.rebalance.tables import Proposal

    panel = pm_window.docks["proposals"]
    _codes, ids = desk_run
    pid = ids[0]
    panel.show_proposal(pid)
    qtbot_module.waitUntil(lambda: not pm_window.desk.jobs.running, timeout=10_000)
    with demo_db.session() as s:
        payload = s.get(Proposal, pid).payload  # type: ignore[union-attr]
    assert panel.trades.rowCount() == len(payload["trades"])
    assert payload["account"] in panel.detail.text() and "tracking error" in panel.detail.text()


def test_pm_sends_a_proposal_to_compliance(pm_window, demo_db, qtbot_module, tmp_path, desk_run) -> None:  # type: ignore[no-untyped-def]
    """PM -> compliance: the proposal is checked by the compliance service; flagged ones queue."""
    from engine.compliance.tables import ApprovalCase

    panel = pm_window.docks["proposals"]
    model = panel.blotter.model
    pid = desk_run[1][-1]
    panel.send_to_compliance([pid])
    qtbot_module.waitUntil(lambda: not pm_window.desk.jobs.running, timeout=60_000)
    with demo_db.session() as s:
        case = s.query(ApprovalCase).filter_by(entity="proposal", entity_id=str(pid)).one()
        state = case.state
    assert state in ("released", "pending_approval")
    qtbot_module.waitUntil(
        lambda: model.value(model.view_row_of_key(pid), "compliance").startswith(state), timeout=10_000
    )
    cora = open_window(qtbot_module, demo_db, "cora.compliance", tmp_path / "c.ini")
    queued = set(cora.docks["approvals"].blotter.model.column_values("entity_id"))
    assert (str(pid) in queued) == (state == "pending_approval")
    if state == "pending_approval":
        cora.docks["approvals"].decide("approve", [case.id], reason="within_tolerance", comment="desk test")
        qtbot_module.waitUntil(lambda: not cora.desk.jobs.running, timeout=10_000)
    close_window(cora)
