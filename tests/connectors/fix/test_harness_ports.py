"""The test harness's simulated broker starts again on another port when its port was taken
between picking it and binding it (a parallel test's connection can take it): CI saw that race."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.connectors.fix import harness


def test_a_simulator_whose_port_was_taken_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        real = harness.free_port
        picks = iter([busy])
        monkeypatch.setattr(harness, "free_port", lambda: next(picks, 0) or real())
        sim = harness.Sim(tmp_path).ready()
        try:
            assert sim.port != busy and sim.proc.poll() is None  # listening on its second port
        finally:
            sim.stop()
