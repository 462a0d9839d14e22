"""Trade rotation across brokers over real sessions: three SIMULATED brokers (three processes, one
session each), each wrap sponsor's account trading at its own broker. In three releases of the
same security and side the broker that goes first rotates B1, B2, B3, and the fairness log says
which broker and accounts traded first each time."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.fix.config import initiator_settings
from engine.oms.drafts import OrderDraft
from engine.oms.messages import NewOrder, Outbound
from engine.oms.rotation import fairness_log
from engine.store.database import Database
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, Sim
from tests.engine.oms.book import PassAll, RecordingBooker, make_book

BROKERS = ("B1", "B2", "B3")
SPONSOR = {"ACC1": "B1", "ACC2": "B2", "ACC3": "B3"}  # each sponsor's account trades at its own broker


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[dict[str, Sim]]:
    started = {
        b: Sim(tmp_path, "--ignore-market-hours", "--fill-parts", "1", "--comp-id", b) for b in BROKERS
    }
    yield {b: s.ready() for b, s in started.items()}
    for s in started.values():
        s.stop()


def config(tmp: Path, sims: dict[str, Sim]) -> Path:
    """One settings file, a session per broker, each on its own simulator's port."""
    text = initiator_settings("127.0.0.1", 1, "WS", [], tmp / "fix")
    head = "\n".join(x for x in text.splitlines() if x and not x.startswith("SocketConnectPort"))
    blocks = [
        f"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=WS\nTargetCompID={b}\nSocketConnectPort={s.port}"
        for b, s in sims.items()
    ]
    path = tmp / "sessions.cfg"
    (tmp / "fix").mkdir(exist_ok=True)
    path.write_text(head + "\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def test_first_broker_rotates_over_three_releases(tmp_path: Path, sims: dict[str, Sim]) -> None:
    db: Database = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    oms = Oms(db, tmp_path, 0, checker=PassAll(), booker=RecordingBooker(), config=config(tmp_path, sims),
              brokers=BROKERS)  # fmt: skip
    wire: list[str] = []
    send = oms.gateway.send

    def spy(m: Outbound) -> None:  # the order in which NewOrderSingles reach the sessions
        if isinstance(m, NewOrder):
            wire.append(m.broker)
        send(m)

    oms.gateway.send = spy  # type: ignore[method-assign]
    firsts = []
    try:
        for _ in range(3):
            wire.clear()
            ids = oms.create(
                *[OrderDraft(account=a, symbol="AAPL", side="buy", quantity=Decimal(100), broker=b)
                  for a, b in SPONSOR.items()]
            )  # fmt: skip
            result = oms.manager.route(ids)
            assert sorted(result.sent) == sorted(ids)
            for oid in ids:
                assert oms.wait(oid).status == "filled"
            firsts.append(wire[0])
            assert len(wire) == 3 and sorted(wire) == list(BROKERS)
        assert firsts == ["B1", "B2", "B3"]
        with db.session() as s:
            log = fairness_log(s)
        assert len(log) == 3
        newest_first = [[(e["position"], e["broker"], e["accounts"]) for e in run["brokers"]] for run in log]
        assert newest_first[0] == [(1, "B3", ["ACC3"]), (2, "B1", ["ACC1"]), (3, "B2", ["ACC2"])]
        assert newest_first[1] == [(1, "B2", ["ACC2"]), (2, "B3", ["ACC3"]), (3, "B1", ["ACC1"])]
        assert newest_first[2] == [(1, "B1", ["ACC1"]), (2, "B2", ["ACC2"]), (3, "B3", ["ACC3"])]
        assert {run["symbol"] for run in log} == {"AAPL"} and {run["side"] for run in log} == {"buy"}
        # every broker really executed its own account's order
        for b, sim in sims.items():
            filled = [e for e in sim.events() if e["event"] == "fill"]
            assert len(filled) == 3, b
    finally:
        oms.stop()
        db.dispose()
