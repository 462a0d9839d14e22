"""The proposals read model on SQLite and PostgreSQL: trade counts taken by the database (no
payload read), and a run's rows read by batch above the last id seen."""

from __future__ import annotations

from sqlalchemy import select

from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database
from engine.views import trading
from tests.engine.compliance.minibook import build_minibook


def _add(database: Database, batch: str, trades: list[int | None]) -> list[int]:
    """Proposals of one batch; each with that many trades (None: no `trades` key at all)."""
    with database.transaction() as s:
        acct = s.scalars(select(Account).order_by(Account.id)).first()
        assert acct is not None
        made = [
            Proposal(
                batch_id=batch, account_id=acct.id, mode="full", status="ok", created_by="pat.pm",
                payload={} if n is None else {"trades": [{"symbol": f"S{i}"} for i in range(n)], "big": "x" * 500},
            )
            for n in trades
        ]  # fmt: skip
        s.add_all(made)
        s.flush()
        return [p.id for p in made]


def test_trade_counts_and_batch_reads_by_id(database: Database) -> None:
    build_minibook(database)
    first = _add(database, "batch-a", [3, 0, None])
    later = _add(database, "batch-a", [5])
    other = _add(database, "batch-b", [2])
    frame = trading.proposals(database)
    counts = dict(zip(frame["id"], frame["trades"]))
    assert counts[first[0]] == 3 and counts[first[1]] == 0 and counts[later[0]] == 5 and counts[other[0]] == 2
    assert counts[first[2]] is None or counts[first[2]] != counts[first[2]]  # no trades key: missing
    assert "payload" not in frame.columns
    # A run's rows above the last id seen: only the later one of batch-a, none of batch-b.
    after = trading.proposals(database, batch_id="batch-a", after_id=max(first))
    assert list(after["id"]) == later and list(after["trades"]) == [5]
    assert list(trading.proposals(database, batch_id="batch-a")["id"]) == first + later
    assert list(trading.proposals(database, [first[0], other[0]])["id"]) == [first[0], other[0]]
