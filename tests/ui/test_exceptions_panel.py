"""The exception queue dock (PM workspace): lists proposals over a limit, a second PM signs one
off from the desk (the engine's permission, four eyes and audit), the creator's own sign-off is
refused with the engine's reason shown and nothing changes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.access.users import create_user
from engine.rebalance.exceptions import queue
from engine.rebalance.tables import Proposal
from engine.rebalance.transition_tables import ProposalException
from engine.store.accounts import Account
from engine.store.database import Database
from engine.views.users import desk_users
from tests.ui.conftest import build_book
from ui.desk import Desk
from ui.panels.exceptions_panel import ExceptionsPanel
from ui.workers import Jobs


@pytest.fixture(scope="module")
def queue_book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, list[int]]]:
    database = build_book(tmp_path_factory.mktemp("exceptions-book") / "book.db", accounts=2)
    with database.transaction() as s:
        create_user(s, "ada.admin", "pia.pm", "Pia (second PM)", "portfolio_manager", None)
        aid = s.scalars(select(Account.id).order_by(Account.id)).first()
        props = [
            Proposal(batch_id="b1", account_id=aid, mode="full", status="ok", created_by="pat.pm",
                     payload={"status": "ok", "base_currency": "USD", "value_base": v, "turnover": t,
                              "trades": [{"symbol": "X", "side": "buy", "quantity": 1.0}]})
            for v, t in ((12_500_000.0, 0.31), (48_000_000.0, 0.22))
        ]  # fmt: skip
        s.add_all(props)
        s.flush()
        ids = [e.id for e in queue(s, props, "pat.pm")]
    yield database, ids
    database.dispose()


def desk_for(database: Database, username: str) -> Desk:
    return Desk(database, next(u for u in desk_users(database) if u.username == username), jobs=Jobs())


def status(database: Database, eid: int) -> str:
    with database.session() as s:
        return s.get(ProposalException, eid).status  # type: ignore[union-attr]


def test_second_pm_signs_off_and_the_creator_is_refused(queue_book, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database, ids = queue_book
    own = desk_for(database, "pat.pm")
    panel = ExceptionsPanel(own)
    qtbot.addWidget(panel)
    panel.resize(1100, 260)
    panel.show()
    m = panel.blotter.model
    qtbot.waitUntil(lambda: m.rowCount() == 2, timeout=30_000)
    assert m.value(m.view_row_of_key(ids[0]), "detail") == (
        "turnover 31.00% above 20% on an account of 12,500,000 USD (above 10,000,000)"
    )
    messages: list[str] = []
    own.message.connect(messages.append)
    panel.decide("sign_off", [ids[0]], "my own proposal")
    qtbot.waitUntil(lambda: bool(messages), timeout=30_000)
    assert "four eyes" in messages[-1] and status(database, ids[0]) == "open"

    other = desk_for(database, "pia.pm")
    panel2 = ExceptionsPanel(other)
    qtbot.addWidget(panel2)
    panel2.resize(1100, 260)
    panel2.show()
    m2 = panel2.blotter.model
    qtbot.waitUntil(lambda: m2.rowCount() == 2, timeout=30_000)
    panel2.decide("sign_off", [ids[0]], "client agreed to the move")
    qtbot.waitUntil(lambda: status(database, ids[0]) == "signed_off", timeout=30_000)
    qtbot.waitUntil(lambda: m2.value(m2.view_row_of_key(ids[0]), "status") == "signed off", timeout=30_000)
    assert m2.value(m2.view_row_of_key(ids[0]), "decided_by") == "pia.pm"
    qtbot.waitUntil(lambda: panel2.caption.text().strip().startswith("1 proposal(s)"), timeout=30_000)
    out = os.environ.get("WORKSTATION_TEST_SHOTS") or str(tmp_path)
    panel2.grab().save(os.path.join(out, "exception_queue.png"))
    assert Path(out, "exception_queue.png").stat().st_size > 0
