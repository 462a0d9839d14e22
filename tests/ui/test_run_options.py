"""The proposals dock's run options (issue 15, "On the desktop"): the dialog builds the same
RebalanceSettings as `workstation rebalance` for the same options, bad input is refused naming the
field, a min-max run from the dock stores proposals that say so, and a what-if stores nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from engine.rebalance.run_options import RunOptions, build_settings
from engine.rebalance.settings import DirectedTrade, RebalanceSettings, Style
from engine.store.database import Database
from engine.views.users import desk_users
from tests.ui.conftest import copy_book
from ui.desk import Desk
from ui.panels.proposal_panels import ProposalsPanel
from ui.panels.run_options import RunOptionsDialog
from ui.panels.run_options import summary as run_options_summary
from ui.workers import Jobs
from workstation.cli.main import build_parser
from workstation.cli.rebalance_modes import run_options as cli_run_options


def cli_settings(*argv: str) -> RebalanceSettings:
    """The settings `workstation rebalance ARGV` builds (parsed exactly as the CLI parses them)."""
    args = build_parser("rebalance").parse_args(["rebalance", *argv])
    return build_settings(cli_run_options(args))


@pytest.fixture(scope="module")
def book(demo_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A private copy of the session's 12-account book (these runs write proposals)."""
    database = copy_book(demo_db, tmp_path_factory.mktemp("run-options") / "book.db")
    yield database
    database.dispose()


@pytest.fixture
def panel(book: Database, qtbot) -> Iterator[ProposalsPanel]:  # type: ignore[no-untyped-def]
    desk = Desk(book, next(u for u in desk_users(book) if u.username == "pat.pm"), jobs=Jobs())
    panel = ProposalsPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    yield panel
    desk.jobs.wait()


def _dialog(qtbot, **form: object) -> RunOptionsDialog:  # type: ignore[no-untyped-def]
    d = RunOptionsDialog(RunOptions())
    qtbot.addWidget(d)
    d.style_box.setCurrentIndex(int(form.get("style", 0)))  # type: ignore[call-overload]
    d.sleeve.setText(str(form.get("sleeve", "")))
    d.turnover.setText(str(form.get("turnover", "")))
    d.improvement.setValue(float(form.get("improvement", 0.0)))  # type: ignore[arg-type]
    d.defer.setValue(int(form.get("defer", 0)))  # type: ignore[call-overload]
    d.tax_budget.setText(str(form.get("tax_budget", "")))
    d.cash_raise.setText(str(form.get("cash_raise", "")))
    d.cash_raise_by.setText(str(form.get("cash_raise_by", "")))
    d.households.setChecked(bool(form.get("households", False)))
    d.what_if.setChecked(bool(form.get("what_if", False)))
    return d


@pytest.mark.parametrize(
    ("form", "argv"),
    [
        (
            {"style": 2, "turnover": "20", "improvement": 0.1, "defer": 30, "what_if": True},
            [
                "--style",
                "minmax",
                "--minmax-to",
                "target",
                "--max-turnover",
                "0.2",
                "--min-improvement",
                "0.001",
                "--defer-gains",
                "30",
                "--what-if",
            ],
        ),
        ({"style": 1}, ["--style", "minmax"]),
        (
            {"style": 3, "sleeve": "equity, Technology"},
            ["--style", "tactical", "--sleeve", "equity,Technology"],
        ),
        ({"households": True, "turnover": "35%"}, ["--households", "--max-turnover", "0.35"]),
        ({"style": 1, "households": True}, ["--style", "minmax", "--households"]),  # styles solve households
        ({"tax_budget": "25,000", "turnover": "10"}, ["--tax-budget", "25000", "--max-turnover", "0.1"]),
        ({}, []),
    ],
)
def test_the_dialog_builds_the_clis_settings(qtbot, form: dict[str, object], argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    d = _dialog(qtbot, **form)
    d.accept()
    assert d.error.text() == "" and d.result() == 1
    assert build_settings(d.options) == cli_settings(*argv)
    assert d.options.what_if == ("--what-if" in argv)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"style": 3}, "sleeve: style tactical needs sleeve labels"),
        ({"sleeve": "equity"}, "sleeve"),  # a standard run: the sleeve box is off and ignored
        ({"turnover": "abc"}, "max turnover: 'abc' is not a number"),
        ({"turnover": "250"}, "max turnover: 2.5 is out of range"),
        ({"tax_budget": "lots"}, "tax budget: 'lots' is not an amount"),
        ({"cash_raise": "-5"}, "cash raise: -5 must be an amount >= 0"),
        ({"cash_raise": "5000", "cash_raise_by": "2026-13-01"}, "cash raise by: '2026-13-01' is not a date"),
        ({"cash_raise_by": "2026-11-30"}, "cash raise by: needs mode cash-raise"),
    ],
)
def test_bad_options_are_refused_naming_the_field(qtbot, form: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    d = _dialog(qtbot, **form)
    d.accept()
    if field == "sleeve":  # not an error: standard ignores the disabled sleeve box
        assert d.error.text() == "" and d.options.sleeve == ()
        return
    assert d.error.text().startswith(field) and d.options == RunOptions() and d.result() == 0


def _counts(database: Database) -> dict[str, int]:
    names = inspect(database.engine).get_table_names()
    with database.engine.connect() as conn:
        return {n: int(conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names}


def _run(  # type: ignore[no-untyped-def]
    panel: ProposalsPanel, qtbot, codes: list[str], options: RunOptions, mode: str = "full"
) -> dict[str, object]:
    panel.set_options(options)
    panel.selection.setCurrentText("list")
    panel.value.setText(", ".join(codes))
    panel.mode.setCurrentText(mode)
    panel.run_rebalance()
    qtbot.waitUntil(lambda: panel.run_state.done or panel.run_state.failed is not None, timeout=120_000)
    assert panel.run_state.failed is None
    assert panel.run_state.summary is not None
    return panel.run_state.summary


def _codes(book: Database, n: int) -> list[str]:
    from engine.store.accounts import Account

    with book.session() as s:
        return list(s.scalars(select(Account.code).order_by(Account.code).limit(n)))


def test_a_minmax_run_from_the_dock_stores_proposals_that_say_so(panel, book, qtbot) -> None:  # type: ignore[no-untyped-def]
    from engine.rebalance.tables import Proposal

    codes = _codes(book, 3)
    with book.session() as s:
        before = set(s.scalars(select(Proposal.id)))
    summary = _run(panel, qtbot, codes, RunOptions(style=Style.MINMAX, minmax_to="target"))
    assert panel.options_button.text() == "&Options (1)…"
    assert panel.options_button.toolTip().startswith("Run options: min-max to target (")
    # the settings the child process built are the CLI's for the same options
    assert summary["settings"] == cli_settings(
        "--accounts", ",".join(codes), "--style", "minmax", "--minmax-to", "target", "--user", "pat.pm"
    )
    with book.session() as s:
        rows = [p for p in s.scalars(select(Proposal)) if p.id not in before]
        got = [(p.mode, p.payload["style"], p.payload["minmax_to"], p.payload["account"]) for p in rows]
    assert sorted(got) == [("full", "minmax", "target", c) for c in codes]
    assert summary["accounts"] == 3 and not summary["what_if"]
    panel.show_proposal(rows[0].id)
    qtbot.waitUntil(lambda: "style minmax (to target)" in panel.detail.text(), timeout=30_000)


def test_a_what_if_from_the_dock_stores_nothing(panel, book, qtbot) -> None:  # type: ignore[no-untyped-def]
    codes = _codes(book, 4)
    counts = _counts(book)
    d = _dialog(qtbot, turnover="25", cash_raise="20,000", cash_raise_by="2026-11-30", what_if=True)
    d.accept()
    assert d.error.text() == ""
    summary = _run(panel, qtbot, codes, d.options, mode="cash-raise")
    assert _counts(book) == counts  # no proposal, no audit entry, nothing
    assert summary["what_if"] and summary["accounts"] == 4
    assert summary["settings"] == cli_settings(
        "--accounts",
        ",".join(codes),
        "--max-turnover",
        "0.25",
        "--what-if",
        "--mode",
        "cash-raise",
        "--cash-raise",
        "20000",
        "--cash-raise-by",
        "2026-11-30",
    )
    shown = panel.detail.text()
    assert shown.startswith("<b>What-if</b> (nothing saved): 4 account(s)")
    assert f"{summary['trades']} trade(s)" in shown
    assert panel.run_button.isEnabled()
    if os.environ.get("WORKSTATION_TEST_SHOTS"):
        panel.grab().save(os.path.join(os.environ["WORKSTATION_TEST_SHOTS"], "proposals-what-if.png"))


def test_a_cash_raise_amount_with_another_mode_is_refused(panel, book, qtbot) -> None:  # type: ignore[no-untyped-def]
    said: list[str] = []
    panel.desk.message.connect(said.append)
    counts = _counts(book)
    panel.set_options(RunOptions(cash_raise=5000.0))
    panel.mode.setCurrentText("full")
    panel.run_rebalance()
    assert said == ["Rebalance not started: cash raise: an amount in the options needs mode cash-raise"]
    assert panel.run_button.isEnabled() and panel.run_state.job is None and _counts(book) == counts


def test_the_dock_with_its_options_fits_1280(panel, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel.set_options(RunOptions(style=Style.MINMAX, max_turnover=0.2, defer_gains_days=30, what_if=True))
    qtbot.wait(50)
    for b in (panel.options_button, panel.run_button, panel.release_button):
        geo = b.geometry()
        assert b.isVisible() and geo.width() >= b.sizeHint().width()
        assert b.mapTo(panel, geo.topLeft() - geo.topLeft()).x() + geo.width() <= panel.width()
    out = os.environ.get("WORKSTATION_TEST_SHOTS") or str(tmp_path)
    assert panel.grab().save(os.path.join(out, "proposals-run-options.png"))
    d = RunOptionsDialog(panel.options, panel)
    qtbot.addWidget(d)
    d.show()
    qtbot.wait(50)
    assert d.grab().save(os.path.join(out, "run-options-dialog.png"))
    assert d.width() <= 1280 and d.height() <= 720


def _directed_dialog(
    qtbot, symbol: str, side: str, pct: str, limit: str = "", prio: str = ""
) -> RunOptionsDialog:  # type: ignore[no-untyped-def]
    d = _dialog(qtbot, style=4)
    d.directed_symbol.setText(symbol)
    d.directed_side.setCurrentText(side)
    d.directed_pct.setText(pct)
    d.directed_limit.setText(limit)
    d.priorities.setText(prio)
    return d


def test_directed_trades_and_equivalents_build_the_clis_settings(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prio = tmp_path / "priority.csv"
    prio.write_text("account,priority\nA000003,1\nA000001,2\n", encoding="utf-8")
    d = _directed_dialog(qtbot, "aga", "buy", "2", "500", "A000003:1, A000001:2")
    assert d.directed_symbol.isEnabled() and not d.sleeve.isEnabled()
    d.accept()
    assert d.error.text() == ""
    want = cli_settings(
        "--style",
        "directed",
        "--directed",
        "AGA:buy:0.02",
        "--directed-limit",
        "500",
        "--priority",
        str(prio),
    )
    assert build_settings(d.options) == want
    assert run_options_summary(d.options) == "directed buy 2% AGA ≤ 500"
    # Shown again from the options, the form gives the same options back.
    again = RunOptionsDialog(d.options)
    qtbot.addWidget(again)
    again.accept()
    assert again.options == d.options

    e = _dialog(qtbot)
    e.equivalents.setChecked(True)
    e.accept()
    assert build_settings(e.options) == cli_settings("--equivalents")
    f = _dialog(qtbot)
    f.equivalents.setChecked(True)
    f.equivalents_file.setText(str(tmp_path / "none.csv"))
    f.accept()
    assert f.error.text().startswith("equivalents file:") and f.result() == 0


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        (("", "buy", "2"), "directed security: give the symbol"),
        (("AGA", "buy", "0"), "directed percent: 0 must be above 0"),
        (("AGA", "sell", "150"), "directed percent: 150 must be above 0"),
        (("AGA", "buy", "two"), "directed percent: 'two' is not a number"),
        (("AGA", "buy", "2", "-5"), "directed limit: -5 must be a quantity above 0"),
        (("AGA", "buy", "2", "", "A000001:first"), "priorities: 'A000001:first' is not ACCOUNT:N"),
    ],
)
def test_bad_directed_input_is_refused_naming_the_field(qtbot, fields: tuple[str, ...], said: str) -> None:  # type: ignore[no-untyped-def]
    d = _directed_dialog(qtbot, *fields)
    d.accept()
    assert d.error.text().startswith(said) and d.options == RunOptions() and d.result() == 0


def test_a_directed_run_from_the_dock_buys_whole_lots_in_priority_order(panel, book, qtbot) -> None:  # type: ignore[no-untyped-def]
    from engine.rebalance.tables import Proposal

    codes = _codes(book, 3)
    with book.session() as s:
        before = set(s.scalars(select(Proposal.id)))
    d = _directed_dialog(qtbot, "AGA", "buy", "1", "", f"{codes[2]}:1")
    d.accept()
    summary = _run(panel, qtbot, codes, d.options)
    assert summary["settings"].style == Style.DIRECTED
    assert summary["settings"].directed == DirectedTrade("AGA", "buy", 0.01, None, ((codes[2], 1),))
    with book.session() as s:
        rows = [p for p in s.scalars(select(Proposal).order_by(Proposal.id)) if p.id not in before]
    assert sorted(p.payload["account"] for p in rows) == codes
    for p in rows:
        assert p.payload["rung"] in ("directed", None) or p.payload["status"] != "ok"
        for t in p.payload["trades"]:
            assert t["symbol"] == "AGA" and t["side"] == "buy"
            assert t["est_value_base"] <= 0.01 * p.payload["value_base"] + 1e-6
    first = next(p for p in rows if p.payload["account"] == codes[2])
    assert (first.payload.get("directed") or {}).get("priority") == 1
