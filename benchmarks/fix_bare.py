"""The bare QuickFIX round trip beside benchmarks/fix_throughput.py: a minimal Python quickfix
initiator (no database, no OMS) sends limit NewOrderSingles and counts the fills, against the same
counterpart in the same run. `one_at_a_time` gives the latency of a lone order (send -> fill
callback), `stream` the rate with everything sent at once."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.config import initiator_settings
from connectors.fix.translate import utc_timestamp


class _App(fix.Application):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.filled: dict[str, float] = {}
        self.cond = threading.Condition()

    def onCreate(self, sid: fix.SessionID) -> None:
        self.sid = sid

    def onLogon(self, sid: fix.SessionID) -> None:
        self.logged_on.set()

    def onLogout(self, sid: fix.SessionID) -> None:
        pass

    def toAdmin(self, m: fix.Message, sid: fix.SessionID) -> None:
        if m.getHeader().getField(T.MSG_TYPE) == "A":
            m.setField(141, "Y")  # ResetSeqNumFlag: a fresh session every run

    def fromAdmin(self, m: fix.Message, sid: fix.SessionID) -> None:
        pass

    def toApp(self, m: fix.Message, sid: fix.SessionID) -> None:
        pass

    def fromApp(self, m: fix.Message, sid: fix.SessionID) -> None:
        if m.getHeader().getField(T.MSG_TYPE) == "8" and m.getField(T.ORD_STATUS) == "2":
            now = time.perf_counter()
            with self.cond:
                self.filled[m.getField(T.CL_ORD_ID)] = now
                self.cond.notify_all()


class BareClient:
    """A quickfix initiator as `sender` to `target` on 127.0.0.1:`port` (FIX 4.4)."""

    def __init__(self, tmp: Path, port: int, sender: str = "BARE", target: str = "SIM") -> None:
        (tmp / "bare").mkdir(parents=True, exist_ok=True)
        cfg = tmp / "bare.cfg"
        cfg.write_text(
            initiator_settings("127.0.0.1", port, sender, [target], tmp / "bare"), encoding="utf-8"
        )
        self.app = _App()
        settings = fix.SessionSettings(str(cfg))
        self.initiator = fix.SocketInitiator(self.app, fix.FileStoreFactory(settings), settings)
        self.initiator.start()
        if not self.app.logged_on.wait(30):
            raise RuntimeError("bare QuickFIX client: no logon")
        self.n = 0

    def _send(self, symbol: str) -> str:
        self.n += 1
        cl = f"BARE{self.n}-{int(time.time() * 1000) % 10**8}"
        m = fix.Message()
        m.getHeader().setField(T.MSG_TYPE, "D")
        m.setField(T.CL_ORD_ID, cl)
        m.setField(T.SYMBOL, symbol)
        m.setField(T.SIDE, "1")
        m.setField(T.TRANSACT_TIME, utc_timestamp(datetime.now(UTC)))
        m.setField(T.ORDER_QTY, "100")
        m.setField(T.ORD_TYPE, "2")
        m.setField(T.PRICE, "100.5")
        m.setField(T.TIME_IN_FORCE, "0")
        m.setField(T.SECURITY_EXCHANGE, "XNAS")
        fix.Session.sendToTarget(m, self.app.sid)
        return cl

    def one_at_a_time(self, n: int, symbol: str = "AAPL") -> list[float]:
        """Latency (ms) of n orders, each sent when the last one filled."""
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            cl = self._send(symbol)
            with self.app.cond:
                if not self.app.cond.wait_for(lambda cl=cl: cl in self.app.filled, 10):
                    raise RuntimeError("bare QuickFIX client: no fill")
            out.append((self.app.filled[cl] - t0) * 1000)
        return out

    def stream(self, n: int, symbol: str = "AAPL") -> tuple[float, list[float]]:
        """Orders/s of n orders sent at once until the last fill, and each one's latency (ms)."""
        t0 = time.perf_counter()
        sent = {}
        for _ in range(n):
            sent[self._send(symbol)] = time.perf_counter()
        with self.app.cond:
            if not self.app.cond.wait_for(lambda: all(c in self.app.filled for c in sent), 60):
                raise RuntimeError("bare QuickFIX client: fills missing")
        wall = max(self.app.filled[c] for c in sent) - t0
        return n / wall, sorted((self.app.filled[c] - t) * 1000 for c, t in sent.items())

    def stop(self) -> None:
        self.initiator.stop(True)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[int(q * (len(xs) - 1))] if xs else float("nan")


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")
