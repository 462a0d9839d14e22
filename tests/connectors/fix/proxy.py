"""A fault-injecting TCP proxy for FIX tests: forwards bytes between the OMS initiator and the
acceptor on 127.0.0.1, can drop one whole FIX message that matches a predicate, and can cut the
link. Only for tests; listens on 127.0.0.1 only.

Each direction is read into a buffer, split into whole FIX messages (a message ends with the
checksum field `10=NNN<SOH>`) and forwarded message by message, so a dropped message leaves a
clean sequence gap, exactly what a lost message looks like to QuickFIX.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

SOH = b"\x01"
_END = re.compile(rb"\x0110=\d{3}\x01")
TO_ACCEPTOR = "out"  # OMS -> broker
TO_INITIATOR = "in"  # broker -> OMS

Predicate = Callable[[bytes], bool]


def field_of(message: bytes, tag: int) -> str | None:
    """The value of `tag` in a raw FIX message (first occurrence), or None."""
    m = re.search(rb"(?:^|\x01)" + str(tag).encode() + rb"=([^\x01]*)\x01", message)
    return m.group(1).decode() if m else None


def is_type(kind: str) -> Predicate:
    """Matches messages of MsgType `kind` that are not resends (PossDupFlag=Y)."""
    return lambda m: field_of(m, 35) == kind and field_of(m, 43) != "Y"


def nth(n: int, predicate: Predicate) -> Predicate:
    """Matches the n-th (1-based) message that `predicate` matches, and only that one."""
    seen = [0]

    def match(m: bytes) -> bool:
        if predicate(m):
            seen[0] += 1
            return seen[0] == n
        return False

    return match


@dataclass
class _Rule:
    direction: str
    predicate: Predicate
    cut: bool = False  # also cut the link (and refuse reconnects until `pause(False)`)
    dropped: list[bytes] = field(default_factory=list)


class FixProxy:
    """`127.0.0.1:port` -> `127.0.0.1:target`. Counts connections, forwarded and dropped messages."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(4)
        self.port = int(self._server.getsockname()[1])
        self.connections = 0
        self.forwarded: dict[str, list[bytes]] = {TO_ACCEPTOR: [], TO_INITIATOR: []}
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._paused = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fix-proxy", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ faults

    def drop(self, direction: str, predicate: Predicate) -> _Rule:
        """Drop the next message going `direction` that matches (once; see `nth`)."""
        rule = _Rule(direction, predicate)
        with self._lock:
            self._rules.append(rule)
        return rule

    def cut_on(self, direction: str, predicate: Predicate) -> _Rule:
        """Cut the link when the next matching message goes `direction` (it is lost with the link),
        and refuse reconnects until `pause(False)`."""
        rule = _Rule(direction, predicate, cut=True)
        with self._lock:
            self._rules.append(rule)
        return rule

    def cut(self) -> None:
        """Close both sides of the current connection at once (what a lost link looks like)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def pause(self, refuse: bool) -> None:
        """While `refuse`, new connections are closed at once (the link stays down)."""
        if refuse:
            self._paused.set()
        else:
            self._paused.clear()

    def sent(self, direction: str, predicate: Predicate) -> list[bytes]:
        """Messages forwarded in `direction` that match `predicate`."""
        with self._lock:
            return [m for m in self.forwarded[direction] if predicate(m)]

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        self.cut()

    # ------------------------------------------------------------------ plumbing

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._paused.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._pairs.append((client, upstream))
            for src, dst, direction in ((client, upstream, TO_ACCEPTOR), (upstream, client, TO_INITIATOR)):
                threading.Thread(
                    target=self._pump, args=(src, dst, direction), name=f"fix-proxy-{direction}", daemon=True
                ).start()

    def _keep(self, direction: str, message: bytes) -> bool:
        cut = False
        with self._lock:
            for rule in self._rules:
                if rule.direction == direction and not rule.dropped and rule.predicate(message):
                    rule.dropped.append(message)
                    cut = rule.cut
                    break
            else:
                self.forwarded[direction].append(message)
                return True
        if cut:
            self.pause(True)
            self.cut()
        return False

    def _pairs_alive(self, sock: socket.socket) -> bool:
        with self._lock:
            return any(sock in pair for pair in self._pairs)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        buffer = b""
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                while (end := _END.search(buffer)) is not None:
                    message, buffer = buffer[: end.end()], buffer[end.end() :]
                    if self._keep(direction, message):
                        dst.sendall(message)  # one by one: all before a cut arrive
                    elif not self._pairs_alive(src):
                        return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
