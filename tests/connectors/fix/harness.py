"""Test harness: the simulated broker in another process, and an in-process OMS over real FIX."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.fix.config import initiator_settings
from connectors.fix.gateway import FixGateway
from engine.clock import Clock, ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.status import FINAL
from engine.oms.tables import Order
from engine.store.database import Database
from tests.engine.oms.book import make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
"""Monday 23 November 2026, 15:00 UTC: New York and London open, Tokyo closed."""
ROOT = Path(__file__).resolve().parents[3]
PY = str(ROOT / ".venv" / "bin" / "python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sim:
    """`workstation broker-sim` in its own process."""

    STARTS = 3
    """A free port can be taken by another process (a parallel test's connection) in the seconds
    the simulator takes to import and bind: it is then started again on another port."""

    def __init__(self, tmp: Path, *flags: str, clients: str = "WS") -> None:
        self.tmp, self.flags, self.clients = tmp, flags, clients
        self._start()
        self._ready = False

    def _start(self) -> None:
        self.port = free_port()
        self.journal = self.tmp / f"sim-{self.port}.jsonl"
        cmd = [
            PY, "-m", "workstation.cli.main", "broker-sim", "--port", str(self.port),
            "--state-dir", str(self.tmp / f"sim-{self.port}"), "--journal", str(self.journal),
            "--clients", self.clients, "--fill-interval", "0.05", *self.flags,
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
        )

    def ready(self) -> Sim:
        """Wait for the "listening" line (start many at once, then wait: imports take seconds)."""
        for attempt in range(1, self.STARTS + 1):
            if self._ready:
                break
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if "listening" in line:
                self._ready = True
                break
            out = line + self.proc.stdout.read()
            self.proc.wait(10)
            if "Address already in use" not in out or attempt == self.STARTS:
                raise RuntimeError(f"simulator did not start: {out}")
            self._start()  # its port was taken meanwhile: another one
        return self

    def events(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        return [json.loads(x) for x in self.journal.read_text().splitlines() if x.strip()]

    def stop(self) -> None:
        self.proc.kill()  # its state is thrown away with the test
        self.proc.wait(10)


def simulators(
    tmp: Path, flags: Mapping[str, Sequence[str]], clients: str = "WS"
) -> Iterator[dict[str, Sim]]:
    """A module's simulators, started at once (each takes seconds to import) and stopped after it."""
    started = {name: Sim(tmp, *f, clients=clients) for name, f in flags.items()}
    yield started
    for sim in started.values():
        sim.stop()


def fix_config(tmp: Path, port: int, brokers: tuple[str, ...] = ("SIM",), sender: str = "WS") -> Path:
    path = tmp / "sessions.cfg"
    path.write_text(
        initiator_settings("127.0.0.1", port, sender, list(brokers), tmp / "fix"), encoding="utf-8"
    )
    (tmp / "fix").mkdir(exist_ok=True)
    return path


class Oms:
    """An OMS in this process: gateway (quickfix initiator), manager, and the engine loop."""

    def __init__(
        self,
        database: Database,
        tmp: Path,
        port: int,
        *,
        checker: Any,
        booker: Any,
        clock: Clock | None = None,
        sender: str = "WS",
        config: Path | None = None,
        brokers: tuple[str, ...] = ("SIM",),
        **controls: Any,
    ) -> None:
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.gateway = FixGateway(config or fix_config(tmp, port, sender=sender), tmp / "fix", self.inbox)
        self.clock = clock or ManualClock(OPEN)
        self.manager = make_oms(
            database, gateway=self.gateway, checker=checker, booker=booker, clock=self.clock, **controls
        )
        self.loop = OmsLoop(self.manager, self.inbox, tick_every=0.1)
        self.database = database
        self.gateway.start()
        ok = self.loop.run_until(lambda: all(self.gateway.is_logged_on(b) for b in brokers), 30)
        assert ok, "no logon"

    def order(self, order_id: int) -> Order:
        with self.database.session() as s:
            o = s.get(Order, order_id)
            assert o is not None
            return o

    def wait(self, order_id: int, statuses: set[str] | frozenset[str] = FINAL, timeout: float = 15) -> Order:
        ok = self.loop.run_until(lambda: self.order(order_id).status in statuses, timeout)
        o = self.order(order_id)
        assert ok, f"order {o.cl_ord_id} is {o.status}, expected one of {sorted(statuses)}"
        return o

    def drain(self, seconds: float = 0.5) -> None:
        self.loop.run_until(lambda: False, seconds)

    def create(self, *drafts: OrderDraft) -> list[int]:
        return self.manager.create(list(drafts))

    def stop(self) -> None:
        self.gateway.stop(force=True)


def draft(account: str = "ACC1", symbol: str = "AAPL", qty: int = 300, **kw: Any) -> OrderDraft:
    from decimal import Decimal

    return OrderDraft(
        account=account, symbol=symbol, side=kw.pop("side", "buy"), quantity=Decimal(qty), broker="SIM", **kw
    )


def all_orders(database: Database) -> list[Order]:
    with database.session() as s:
        return list(s.scalars(select(Order).order_by(Order.id)))


def python() -> str:
    return PY if Path(PY).exists() else sys.executable
