"""Real orders for the trader's screenshot and tests: a SIMULATED broker on 127.0.0.1 and the real OMS.

`SimulatedTrading.start(database)` starts the simulated broker (`workstation broker-sim`, a quickfix
acceptor in a child process, market hours ignored so the demo works at any hour), gives the desk an
OMS link whose FIX session logs on to it, turns the trades of a demo rebalance into orders through
the real OMS (compliance check, blocks, routing), and leaves them working while fills stream in.
Everything it shows is labelled SIMULATED; nothing here is a real broker.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.access.signin import sign_in
from engine.clock import Clock, SystemClock
from engine.events import EventBus
from engine.oms.drafts import OrderDraft
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database
from ui.oms_link import OmsLink, attach, default_manager
from workstation.compose import simulated_market
from workstation.desk_oms import fix_gateway_factory

log = logging.getLogger(__name__)
SIM = "SIM"
SENDER = "WS"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SimOrder:
    """The simulator's view of one order, replayed from its journal."""

    cl_ord_id: str
    qty: Decimal
    limit: Decimal | None
    live: bool = True


class SimBroker:
    """`workstation broker-sim` in its own process (quickfix's acceptor and initiator in one
    process crashed now and then when stopped), with its journal for tests to read."""

    def __init__(
        self, database: Database, state: Path, fill_parts: int, fill_interval: float, sender: str = SENDER
    ) -> None:
        self.port = free_port()
        state.mkdir(parents=True, exist_ok=True)
        self.journal = state / "journal.jsonl"
        cmd = [
            sys.executable, "-m", "workstation.cli.main", "broker-sim", "--port", str(self.port),
            "--comp-id", SIM, "--clients", sender, "--state-dir", str(state),
            "--fill-parts", str(fill_parts), "--fill-interval", str(fill_interval),
            "--ignore-market-hours", "--prices-from-db", "--seed", "7", "--journal", str(self.journal),
        ]  # fmt: skip
        # the book's URL (with its password, if any) goes by environment, never on the command line
        env = dict(os.environ, WORKSTATION_DB=database.url.render_as_string(hide_password=False))
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"the simulated broker did not start: {line}")

    def orders(self) -> dict[str, SimOrder]:
        """The simulator's orders by their current ClOrdID (new, replaced, canceled, expired)."""
        out: dict[str, SimOrder] = {}
        if not self.journal.exists():
            return out
        for raw in self.journal.read_text(encoding="utf-8").splitlines():
            e = json.loads(raw)
            kind, cl = e.get("event"), e.get("cl_ord_id")
            if kind == "new":
                lim = e.get("limit")
                out[cl] = SimOrder(cl, Decimal(e["qty"]), None if lim in (None, "None") else Decimal(lim))
            elif kind == "replaced" and e.get("orig") in out:
                o = out.pop(e["orig"])
                lim = e.get("limit")
                o.cl_ord_id, o.qty = cl, Decimal(e["qty"])
                o.limit = None if lim in (None, "None") else Decimal(lim)
                out[cl] = o
            elif kind in ("canceled", "expired", "unsolicited_cancel") and cl in out:
                out[cl].live = False
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def wants_simulated_orders(database: Database) -> bool:
    """Only a SIMULATED demo book that holds no orders yet gets the demo orders."""
    from engine.demo.build import existing_demo
    from engine.oms.tables import Order

    with database.session() as s:
        has_orders = s.scalar(select(Order.id).limit(1)) is not None
    return not has_orders and existing_demo(database) is not None


def demo_drafts(database: Database, limit: int = 14, accounts: int = 4) -> list[OrderDraft]:
    """Orders from the trades of the book's latest rebalance proposals (run one if there are none)."""
    drafts = _from_proposals(database, limit, accounts)
    if drafts:
        return drafts
    from engine.rebalance.bulk import run_bulk
    from engine.rebalance.settings import RebalanceSettings

    with database.session() as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(80)))
    pm = sign_in(database, "pat.pm", None).username  # the demo book's PM: no password, audited
    run_bulk(database, RebalanceSettings(), ids, drifted_only=True, executor="inline", user=pm)
    return _from_proposals(database, limit, accounts)


def _from_proposals(database: Database, limit: int, accounts: int) -> list[OrderDraft]:
    """Trades that several accounts share first (they make blocks), then one account's others."""
    with database.session() as s:
        rows = s.execute(
            select(Proposal.id, Account.code, Proposal.payload)
            .join(Account, Account.id == Proposal.account_id)
            .order_by(Proposal.id.desc())
        ).all()
    trades: list[OrderDraft] = []
    for pid, code, payload in rows:
        for t in (payload or {}).get("trades") or []:
            qty = int(float(t.get("quantity") or 0))
            if qty > 0 and t.get("side") in ("buy", "sell"):
                trades.append(
                    OrderDraft(
                        code, str(t["symbol"]), str(t["side"]), Decimal(qty), broker=SIM, proposal_id=pid
                    )
                )
    shared: dict[tuple[str, str], list[OrderDraft]] = {}
    for d in trades:
        shared.setdefault((d.symbol, d.side), []).append(d)
    out = [d for group in shared.values() if len(group) > 1 for d in group[:accounts]][:limit]
    for d in trades:
        if len(out) >= limit:
            break
        if d not in out:
            out.append(d)
    return out


@dataclass
class SimulatedTrading:
    """The simulated broker, the shared OMS link logged on to it, and the orders it routed."""

    broker: SimBroker
    link: OmsLink
    tmp: tempfile.TemporaryDirectory[str]
    order_ids: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.link.label

    @classmethod
    def start(
        cls,
        database: Database,
        *,
        clock: Clock | None = None,
        fill_parts: int = 5,
        fill_interval: float = 6.0,
        drafts: list[OrderDraft] | None = None,
        route: bool = True,
        username: str = "tara.trader",
        sender: str = SENDER,
    ) -> SimulatedTrading:
        """Start the broker, log on, create and route the demo orders (or `drafts`)."""
        from connectors.fix.config import initiator_settings

        tmp = tempfile.TemporaryDirectory(prefix="ws-sim-")
        root = Path(tmp.name)
        broker = SimBroker(database, root / "sim", fill_parts, fill_interval, sender)
        config = root / "sessions.cfg"
        (root / "fix").mkdir()
        config.write_text(
            initiator_settings("127.0.0.1", broker.port, sender, [SIM], root / "fix"), encoding="utf-8"
        )
        manager = default_manager(database, EventBus(), clock or SystemClock(), simulated_market(database))
        link = OmsLink(
            manager,
            fix_gateway_factory(config, root / "fix", credentials=None),
            label=f"SIMULATED broker {SIM} on 127.0.0.1:{broker.port} (not a real broker; market hours ignored)",
            brokers=[SIM],
            shared=True,
        )
        self = cls(broker, link, tmp)
        try:
            link.connect(wait_s=30)
            if route:
                trader = sign_in(database, username, None).username  # demo users only, audited
                self.order_ids = self.create_and_route(drafts or demo_drafts(database), trader)
        except BaseException:
            self.stop()
            raise
        return self

    def create_and_route(self, drafts: list[OrderDraft], username: str) -> list[int]:
        """Through the real OMS: compliance check, blocks, routing (out of hours: the sim accepts)."""
        m = self.link.manager

        def run() -> list[int]:
            ids = m.create(drafts, username)
            m.build_blocks()
            m.route(outside_hours=True)
            return ids

        return self.link.call(run)

    def attach(self, desk: Any) -> None:
        """Show this OMS on `desk`: its events go on the desk's bus from now on."""
        self.link.manager.bus = desk.bus
        attach(desk, self.link)

    def wait(self, done: Any, seconds: float = 20.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.1)
        return bool(done())

    def stop(self) -> None:
        self.link.shutdown()
        self.broker.stop()
        self.tmp.cleanup()
