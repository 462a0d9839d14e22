"""Test seam: run the `workstation` CLI with a crash point in the OMS (never reachable by a user).

    python -m tests.connectors.fix.crash_point POINT workstation-args...

POINT `after_commit` or `after_send` kills the process with SIGKILL there (engine.oms.router
checkpoints); `hang:after_commit` (or `hang:after_send`) stops it dead, still alive and still
renewing its routing lease, until it is killed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from engine.oms.router import Router


def install(point: str) -> None:
    """Replace the router's no-op checkpoint in this process only."""
    hang = point.startswith("hang:")
    point = point.removeprefix("hang:")

    def checkpoint(at: str) -> None:
        if at != point:
            return
        sys.stdout.flush()
        if hang:
            print(f"oms: hanging at {at} (test hook)", file=sys.stderr, flush=True)
            threading.Event().wait()
        os.kill(os.getpid(), signal.SIGKILL)

    Router.checkpoint = staticmethod(checkpoint)  # type: ignore[method-assign]


if __name__ == "__main__":
    install(sys.argv[1])
    from workstation.cli.main import main

    sys.argv = ["workstation", *sys.argv[2:]]
    sys.exit(main())
