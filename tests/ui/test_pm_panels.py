"""PM workspace against a real demo book: holdings numbers checked against an independent Decimal
valuation from the raw tables, drift heatmap, FX exposure, drill-down, copy and export."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF
from sqlalchemy import func, select

from engine.store.accounts import Account, ModelComponent
from engine.store.market import FxRate, PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from engine.views.fx_exposure import Scope, exposure
from engine.views.holdings import long_term_mask
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


def reference_account(database, code: str, as_of: date) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Value, positions and model targets of one account, from raw rows with Decimal arithmetic."""
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.code == code)).one()
        eur = eur_rates(s, as_of)
        to_base = lambda ccy: eur[acct.base_currency] / eur[ccy]  # noqa: E731
        mv: dict[str, Decimal] = defaultdict(Decimal)
        for lot in s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id)):
            sec = s.get(Security, lot.security_id)
            close = s.scalar(
                select(PriceBar.close)
                .where(PriceBar.security_id == sec.id, PriceBar.date <= as_of)
                .order_by(PriceBar.date.desc())
                .limit(1)
            )
            mv[sec.symbol] += lot.quantity * close * sec.price_multiplier * to_base(sec.currency)
        cash = sum(
            (
                (c.settled + c.unsettled) * to_base(c.currency)
                for c in s.scalars(select(CashBalance).where(CashBalance.account_id == acct.id))
            ),
            Decimal(0),
        )
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
    total = sum(mv.values(), Decimal(0)) + cash
    return {
        "id": acct.id,
        "total": total,
        "cash": cash,
        "mv": mv,
        "targets": targets,
        "base": acct.base_currency,
    }


@pytest.fixture(scope="module")
def pm_window(qtbot_module, demo_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    window = open_window(qtbot_module, demo_db, "pat.pm", tmp_path_factory.mktemp("pm") / "s.ini")
    yield window
    close_window(window)


@pytest.fixture(scope="module")
def qtbot_module(qapp, request):  # type: ignore[no-untyped-def]
    from pytestqt.qtbot import QtBot

    return QtBot(request)


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
    assert grid.level == "lots"
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
        anniversary = (
            lot.acquired.replace(year=lot.acquired.year + 1)
            if not (lot.acquired.month == 2 and lot.acquired.day == 29)
            else date(lot.acquired.year + 1, 2, 28)
        )
        assert lots.value(i, "term") == ("long" if as_of > anniversary else "short")
        assert lots.value(i, "quantity") == pytest.approx(float(lot.quantity))
    # breadcrumb back to accounts
    grid.back_requested.emit("accounts")
    assert grid.level == "accounts" and grid.model.rowCount() == 12


def test_us_holding_period_rule_edges() -> None:
    acquired = pd.Series(pd.to_datetime(["2025-10-30", "2025-10-29", "2024-02-29", "2024-02-29"]))
    as_of = [date(2026, 10, 30), date(2026, 10, 30), date(2025, 2, 28), date(2025, 3, 1)]
    got = [bool(long_term_mask(acquired.iloc[[i]], d)[0]) for i, d in enumerate(as_of)]
    assert got == [False, True, False, True]  # exactly one year is still short-term


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


def test_drift_heatmap_matches_positions_and_click_opens_the_account(pm_window, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    heat = pm_window.docks["drift"].heatmap
    book = pm_window.desk.book
    assert heat.values.shape == (12, len(heat.buckets))
    i = 0
    acct = int(heat.account_ids[i])
    pos = book.positions[book.positions["account_id"] == acct]
    expect = pos.groupby("sector")["drift"].sum()
    for j, b in enumerate(heat.buckets):
        assert heat.values[i, j] == pytest.approx(float(expect.get(b, 0.0)), abs=1e-12)
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
    heat.kind.setCurrentText("currency")
    assert set(heat.buckets) <= {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "HKD"}
    assert np.abs(heat.values.sum(axis=1)).max() < 1e-9  # weights and targets both sum to 1
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


def test_fx_exposure_sums_to_the_firm_value_and_moves_with_the_last_two_fixings(pm_window, demo_db) -> None:  # type: ignore[no-untyped-def]
    snap = pm_window.desk.book.snap
    ccy, frame = exposure(snap, Scope())
    assert ccy == "USD" or len(snap.accounts["base_currency"].unique()) == 1
    values = snap.account_value()
    to_rep = snap.fx.rates(snap.accounts["base_currency"], [ccy] * len(values), snap.as_of)
    assert float(frame["exposure"].sum()) == pytest.approx(
        float((values.to_numpy() * to_rep).sum()), rel=1e-9
    )
    assert float(frame["pct"].sum()) == pytest.approx(1.0)
    assert (frame["hedge_ratio"] == 0).all()
    with demo_db.session() as s:
        d1, d0 = snap.fixings
        r1, r0 = eur_rates(s, d1), eur_rates(s, d0)
    for row in frame.itertuples():
        move = (
            (r1[ccy] / r1[row.currency] - r0[ccy] / r0[row.currency]) if row.currency != ccy else Decimal(0)
        )
        assert row.change_today == pytest.approx(row.local * float(move), rel=1e-6, abs=1e-6)
    # the panel's table shows the same rows; a household scope is a subset
    panel = pm_window.docks["fx"].panel
    assert panel.model.rowCount() == len(frame)
    hh = snap.accounts["household"].iloc[0]
    _, sub = exposure(snap, Scope("household", hh))
    assert float(sub["exposure"].sum()) > 0
    assert set(sub["currency"]) <= set(frame["currency"])


def test_grid_drift_agrees_with_the_rebalance_engines_drift(pm_window, demo_db) -> None:  # type: ignore[no-untyped-def]
    """The heatmap/grid adapter and engine/rebalance/drift.py use the same conventions."""
    from engine.rebalance.bulk import load_run
    from engine.rebalance.drift import book_drift

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


def test_run_a_rebalance_from_the_desk_and_review_a_proposal(pm_window, demo_db, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    from engine.store.trading import Proposal

    panel = pm_window.docks["proposals"]
    panel.refresh()
    qtbot_module.waitUntil(lambda: not pm_window.desk.jobs.running, timeout=10_000)
    codes = list(pm_window.desk.book.snap.accounts["code"][:2])
    panel.selection.setCurrentText("list")
    panel.value.setText(", ".join(codes))
    panel.mode.setCurrentText("full")
    panel.run_rebalance()
    qtbot_module.waitUntil(
        lambda: panel.run_button.isEnabled() and not pm_window.desk.jobs.running, timeout=120_000
    )
    with demo_db.session() as s:
        rows = s.query(Proposal).all()
    assert len(rows) == 2 and {r.payload["account"] for r in rows} == set(codes)
    model = panel.blotter.model
    qtbot_module.waitUntil(lambda: model.rowCount() == 2, timeout=10_000)
    pid = int(model.value(0, "id"))
    panel.show_proposal(pid)
    qtbot_module.waitUntil(lambda: not pm_window.desk.jobs.running, timeout=10_000)
    payload = next(r.payload for r in rows if r.id == pid)
    assert panel.trades.rowCount() == len(payload["trades"])
    assert payload["account"] in panel.detail.text() and "tracking error" in panel.detail.text()


def test_pm_sends_a_proposal_to_compliance(pm_window, demo_db, qtbot_module, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """PM -> compliance: the proposal is checked by the compliance service; flagged ones queue."""
    from engine.compliance.tables import ApprovalCase

    panel = pm_window.docks["proposals"]
    model = panel.blotter.model
    if model.rowCount() == 0:
        pytest.skip("needs the proposals of the rebalance test")
    pid = int(model.value(0, "id"))
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
