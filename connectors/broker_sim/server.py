"""Run the broker simulator: a quickfix SocketAcceptor on 127.0.0.1:PORT until stopped, its client
sessions in one FIX version (4.2, 4.4 or 5.0 SP2 over FIXT.1.1): the one asked for, else its
broker definition's (--comp-id SIM42 speaks FIX 4.2 with that broker's dictionary), else 4.4.
Several CompIDs (--comp-id SIM42,SIM,SIM50) make one process several brokers, each in its version."""

from __future__ import annotations

import signal
import threading
from decimal import Decimal
from pathlib import Path

import quickfix as fix

from connectors.broker_sim.application import BrokerSimulator
from connectors.broker_sim.faults import SimSettings
from connectors.broker_sim.markets import SimClock, market_clock
from connectors.fix.config import session_version
from connectors.fix.log import RedactingLogFactory  # clients' logon passwords stay out of its logs
from connectors.fix.versions import FixVersion


def acceptor_settings(
    port: int, comp_id: str, clients: list[str], state_dir: Path, version: FixVersion | None = None
) -> str:
    """Settings for the simulator's sessions: each of its CompIDs (`SIM42,SIM,SIM50`: one process
    as several brokers, each in its own version) with each client."""
    lines = [
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        "SocketReuseAddress=Y",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        f"FileStorePath={state_dir / 'store'}",
        f"FileLogPath={state_dir / 'log'}",
        "UseDataDictionary=Y",
        "PersistMessages=Y",
        "SocketNodelay=Y",  # an ack and its fill go at once, not 40 ms apart (Nagle, delayed ACK)
    ]
    for me in [x.strip() for x in comp_id.split(",") if x.strip()]:
        v, own = session_version(me, version, state_dir, f"broker-sim --comp-id {me}")
        for c in clients:
            lines += ["", "[SESSION]", *v.session_lines(own), f"SenderCompID={me}", f"TargetCompID={c}"]
    return "\n".join(lines) + "\n"


def serve(
    port: int,
    comp_id: str,
    clients: list[str],
    state_dir: Path,
    settings: SimSettings,
    prices: dict[str, Decimal],
    clock: SimClock,
    journal: Path | None = None,
    stop: threading.Event | None = None,
    version: FixVersion | None = None,
) -> None:
    """Serve until `stop` is set or SIGTERM/SIGINT arrives."""
    state_dir.mkdir(parents=True, exist_ok=True)
    cfg = state_dir / f"acceptor-{port}.cfg"
    cfg.write_text(acceptor_settings(port, comp_id, clients, state_dir, version), encoding="utf-8")
    session_settings = fix.SessionSettings(str(cfg))
    app = BrokerSimulator(settings, prices, market_clock(clock), journal)
    acceptor = fix.SocketAcceptor(
        app, fix.FileStoreFactory(session_settings), session_settings, RedactingLogFactory(session_settings)
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    acceptor.start()
    app.worker.start()
    speaks = sorted({sid.getBeginString().getValue() for sid in session_settings.getSessions()})
    print(
        f"SIMULATED broker {comp_id} ({', '.join(speaks)}) listening on 127.0.0.1:{port} for {','.join(clients)}",
        flush=True,
    )
    try:
        while not stop.wait(0.2):
            pass
    finally:
        app.stop.set()
        app.worker.join(5)  # no send may race the sessions being torn down
        acceptor.stop()
