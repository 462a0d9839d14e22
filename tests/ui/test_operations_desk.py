"""The operations workspace on a real demo book: it opens for otto.ops with its docks; the Day
cycle dock closes a date from a tmp inbox (ECB XML, an end-of-day closes file and a refused one)
in a worker and shows each step with the counts the engine recorded, the refusal by row/field/
reason and what each file brought; a user without day.close is refused and nothing runs; a
corporate action entered by otto.ops is pending, otto cannot approve it, olga.ops can."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from engine.corporate.terms import ActionTerms
from engine.daycycle.cycle import day_status
from engine.daycycle.steps import STEPS
from engine.daycycle.tables import DayRun
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.positions import TaxLot
from engine.store.reference import Security
from engine.views.daycycle import DayCycleLink
from engine.views.users import desk_users
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, open_window
from ui.desk import Desk
from ui.panels.corporate_panel import CorporatePanel, EnterActionDialog
from ui.panels.daycycle_panel import DayCyclePanel
from ui.workers import Jobs
from workstation.compose import inbox_kinds

DAY = date(2026, 11, 23)  # the Monday after the demo book's date (2026-11-22)
RATES = {"USD": "1.1000", "GBP": "0.8500", "AUD": "1.6800", "CAD": "1.5300", "CHF": "0.9400", "HKD": "8.5600",
         "JPY": "165.20", "SEK": "11.20"}  # fmt: skip
"""Units per euro: every currency of the demo book (revalue needs a rate for each)."""
ECB = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "<gesmes:subject>Reference rates</gesmes:subject>\n"
    "<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>\n"
    f"<Cube><Cube time='{DAY}'>"
    + "".join(f"<Cube currency='{c}' rate='{r}'/>" for c, r in RATES.items())
    + "</Cube></Cube>\n</gesmes:Envelope>\n"
)


@pytest.fixture(scope="module")
def ops_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = build_book(tmp_path_factory.mktemp("ops-book") / "book.db", accounts=6)
    yield database
    database.dispose()


def desk_for(database: Database, username: str) -> Desk:
    return Desk(database, next(u for u in desk_users(database) if u.username == username), jobs=Jobs())


def table(blotter: Any) -> pd.DataFrame:
    """A blotter's visible rows by column key (raw values)."""
    frame = blotter.model.visible_frame()
    frame.columns = [c.key for c in blotter.model.columns]
    return frame


def held_securities(database: Database, n: int) -> list[Security]:
    with database.session() as s:
        ids = sorted(set(s.scalars(select(TaxLot.security_id).where(TaxLot.quantity != 0))))
        secs = [s.get(Security, i) for i in ids]
        out = [x for x in secs if x is not None and x.isin][:n]
        s.expunge_all()
    return out


def test_operations_workspace_opens_for_otto_with_its_docks(qtbot, ops_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, ops_book, "otto.ops", tmp_path / "o.ini")
    try:
        assert window.workspace == "operations"
        for name in ("daycycle", "corporate", "reconcile", "stale"):
            dock = window.docks[name]
            assert dock.isVisible() or window.tabifiedDockWidgets(dock), name
        assert not window.docks["daycycle"].visibleRegion().isEmpty()
        assert window.docks["approvals"].isHidden()
    finally:
        close_window(window)


def test_day_cycle_dock_closes_a_date_from_the_inbox_and_shows_its_steps(
    qtbot, ops_book, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    secs = held_securities(ops_book, 2)
    closes = {secs[0].symbol: Decimal("123.45"), secs[1].symbol: Decimal("67.80")}
    inbox = tmp_path / "inbox"
    for folder in ("ecb", "prices"):
        (inbox / folder).mkdir(parents=True)
    (inbox / "ecb" / f"eurofxref-daily-{DAY}.xml").write_text(ECB, encoding="utf-8")
    lines = ["identifier,id_type,mic,date,close,currency"]
    lines += [f"{x.isin},ISIN,{x.mic},{DAY},{closes[x.symbol]},{x.currency}" for x in secs]
    (inbox / "prices" / f"eod-{DAY}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = f"identifier,id_type,mic,date,close,currency\n{secs[0].isin},ISIN,{secs[0].mic},{DAY},-5,{secs[0].currency}\n"
    (inbox / "prices" / f"late-{DAY}.csv").write_text(bad, encoding="utf-8")

    # A PM has no day.close: refused, nothing runs.
    pm = desk_for(ops_book, "pat.pm")
    pm.day_cycle = DayCycleLink(inbox, inbox_kinds())  # type: ignore[attr-defined]
    refused = DayCyclePanel(pm)
    qtbot.addWidget(refused)
    with qtbot.waitSignal(refused.closed, timeout=60_000) as blocker:
        refused.close_day(DAY)
    assert str(blocker.args[0]).startswith("Refused")
    assert refused.status.text().startswith("Refused")
    with ops_book.session() as s:
        assert s.scalars(select(DayRun).where(DayRun.day == DAY)).first() is None

    desk = desk_for(ops_book, "otto.ops")
    desk.day_cycle = DayCycleLink(inbox, inbox_kinds())  # type: ignore[attr-defined]
    panel = DayCyclePanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1100, 500)
    panel.show()
    qtbot.waitUntil(lambda: panel.overview is not None, timeout=30_000)
    lines_seen: list[str] = []
    panel.step_progress.connect(lines_seen.append)
    with qtbot.waitSignal(panel.closed, timeout=300_000) as blocker:
        panel.close_day(DAY)
    result = blocker.args[0]
    assert result.status == "closed", [(st["name"], st["status"], st["exceptions"]) for st in result.steps]
    qtbot.waitUntil(lambda: panel.steps.model.rowCount() == len(STEPS), timeout=30_000)
    assert any(f"1/{len(STEPS)} load" in line for line in lines_seen)
    assert panel.overview is not None and panel.overview.last_closed == DAY

    # each step as recorded by the engine, in order, with its counts
    recorded = day_status(ops_book, DAY)
    frame = table(panel.steps)
    assert list(frame["step"]) == [s.name for s in STEPS] == [st["name"] for st in recorded.steps]
    assert set(frame["status"]) == {"done"}
    load = recorded.steps[0]["counts"]
    assert (load["files"], load["loaded"], load["refused"]) == (3, 2, 1)
    shown = frame.set_index("step").loc["load", "counts"]
    assert "files 3" in shown and "loaded 2" in shown and "refused 1" in shown
    # the refused file by row, field and reason
    exc = table(panel.exceptions)
    refusal = exc[exc["kind"] == "refused_file"]
    assert list(refusal["subject"]) == [f"prices/late-{DAY}.csv"]
    assert refusal.iloc[0]["field"] == "close" and refusal.iloc[0]["row"] != ""
    # the inbox files and what each brought
    files = table(panel.files).set_index("name")
    assert files.loc[f"prices/late-{DAY}.csv", "status"] == "refused"
    assert files.loc[f"prices/eod-{DAY}.csv", "status"] == "loaded"
    assert files.loc[f"ecb/eurofxref-daily-{DAY}.xml", "status"] == "loaded"
    assert "close" in files.loc[f"prices/late-{DAY}.csv", "errors"]
    # the closes the file brought are the book's prices of that date
    with ops_book.session() as s:
        for x in secs:
            bar = s.scalars(select(PriceBar).where(PriceBar.security_id == x.id, PriceBar.date == DAY)).one()
            assert Decimal(str(bar.close)) == closes[x.symbol]
    # the next close defaults to the business day after
    assert panel.default_day() == date(2026, 11, 24)


def test_corporate_action_entered_by_otto_is_pending_and_olga_approves(qtbot, ops_book) -> None:  # type: ignore[no-untyped-def]
    sec = held_securities(ops_book, 1)[0]
    otto = CorporatePanel(desk_for(ops_book, "otto.ops"))
    qtbot.addWidget(otto)
    otto.resize(1000, 400)
    otto.show()
    qtbot.waitUntil(lambda: otto.loaded and not otto.desk.jobs.running, timeout=30_000)
    dialog = EnterActionDialog(otto)
    qtbot.addWidget(dialog)
    dialog.set(kind="dividend", ref="UI-DIV-1", security=sec.symbol, ex_date="2026-12-10",
               pay_date="2026-12-20", amount="0.25")  # fmt: skip
    terms = dialog.terms()
    assert terms.amount == Decimal("0.25") and terms.ex_date == date(2026, 12, 10)
    otto.enter(terms)
    qtbot.waitUntil(lambda: otto.blotter.model.view_row_of_key("UI-DIV-1") >= 0, timeout=30_000)
    row = table(otto.blotter).set_index("ref").loc["UI-DIV-1"]
    assert (row["status"], row["entered_by"], row["security"]) == ("pending_approval", "otto.ops", sec.symbol)
    assert "0.25 per share" in row["terms"]

    # otto cannot approve his own entry: the engine's message is shown, it stays pending
    otto.notice.setText("")
    otto.decide("approve", ["UI-DIV-1"])
    qtbot.waitUntil(lambda: otto.notice.text().startswith("Refused"), timeout=30_000)
    assert "otto.ops" in otto.notice.text() and "cannot also approve" in otto.notice.text()
    qtbot.waitUntil(lambda: not otto.desk.jobs.running, timeout=30_000)
    assert table(otto.blotter).set_index("ref").loc["UI-DIV-1", "status"] == "pending_approval"

    olga = CorporatePanel(desk_for(ops_book, "olga.ops"))
    qtbot.addWidget(olga)
    olga.resize(1000, 400)
    olga.show()
    qtbot.waitUntil(lambda: olga.blotter.model.view_row_of_key("UI-DIV-1") >= 0, timeout=30_000)
    olga.blotter.view.selectRow(olga.blotter.model.view_row_of_key("UI-DIV-1"))
    olga.approve_button.click()
    qtbot.waitUntil(lambda: olga.notice.text().startswith("Approved"), timeout=30_000)
    qtbot.waitUntil(
        lambda: table(olga.blotter).set_index("ref").loc["UI-DIV-1", "status"] == "announced",
        timeout=30_000,
    )
    assert table(olga.blotter).set_index("ref").loc["UI-DIV-1", "decided_by"] == "olga.ops"


def test_screenshot_renders_the_operations_workspace(ops_book, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`workstation screenshot --workspace operations --size 1280x720` writes both themes at that size."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    url = ops_book.url.render_as_string(hide_password=False)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = [
        "--db",
        url,
        "screenshot",
        "--workspace",
        "operations",
        "--size",
        "1280x720",
        "--out",
        str(tmp_path),
    ]
    out = subprocess.run(
        [sys.executable, "-m", "workstation.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for theme in ("light", "dark"):
        img = QImage(str(tmp_path / f"operations-{theme}.png"))
        assert (img.width(), img.height()) == (1280, 720)


def test_a_rejection_needs_a_reason_and_is_kept(qtbot, ops_book) -> None:  # type: ignore[no-untyped-def]
    sec = held_securities(ops_book, 1)[0]
    otto = CorporatePanel(desk_for(ops_book, "otto.ops"))
    qtbot.addWidget(otto)
    terms = ActionTerms(ref="UI-SPLIT-9", kind="split", security=sec.symbol, ex_date=date(2026, 12, 14),
                        ratio_new=Decimal(3), ratio_old=Decimal(1))  # fmt: skip
    otto.enter(terms)
    qtbot.waitUntil(lambda: otto.notice.text().startswith("Entered UI-SPLIT-9"), timeout=30_000)
    olga = CorporatePanel(desk_for(ops_book, "olga.ops"))
    qtbot.addWidget(olga)
    olga.decide("reject", ["UI-SPLIT-9"], "  ")
    qtbot.waitUntil(lambda: olga.notice.text().startswith("Refused"), timeout=30_000)
    assert "needs a reason" in olga.notice.text()
    olga.decide("reject", ["UI-SPLIT-9"], "wrong ratio: 2 for 1 announced")
    qtbot.waitUntil(lambda: olga.notice.text().startswith("Rejected"), timeout=30_000)
    qtbot.waitUntil(
        lambda: (
            olga.blotter.model.view_row_of_key("UI-SPLIT-9") >= 0
            and table(olga.blotter).set_index("ref").loc["UI-SPLIT-9", "status"] == "rejected"
        ),
        timeout=30_000,
    )
