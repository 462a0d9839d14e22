"""QuickFIX's file log without secrets: every line passes through `redact` first.

QuickFIX's FileLog writes every message as sent, the Logon with its Password (554) included.
`RedactingLogFactory` is a Python `fix.LogFactory` (the SWIG bindings make Log and LogFactory
directors) whose logs wrap QuickFIX's own FileLog, so files, names and format stay the same and
only the secret tags are masked. At every Logon the session's log and store files are made 0600
again, because a store reset (a new FIX day) recreates them.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import quickfix as fix

from engine.store.files import private_files_in

log_ = logging.getLogger(__name__)

SECRET_TAGS = ("554", "925")  # Password, NewPassword
_SECRET = re.compile("(^|\x01)(" + "|".join(SECRET_TAGS) + ")=[^\x01]*")
_MARKS = tuple(f"{t}=" for t in SECRET_TAGS)
_LOGON = "\x0135=A\x01"


def redact(text: str) -> str:
    """The message (or event) with the value of every password tag replaced by ***. A text without
    any secret tag followed by "=" cannot match, and is returned as it is without the regex (three
    messages an order pass through here, on QuickFIX's threads)."""
    for mark in _MARKS:
        if mark in text:
            return _SECRET.sub(r"\1\2=***", text)
    return text


class RedactingLog(fix.Log):  # type: ignore[misc]
    """One session's (or the global) log: QuickFIX's FileLog fed redacted lines."""

    def __init__(self, inner: fix.Log, private: tuple[Path, ...]) -> None:
        super().__init__()
        self.inner: fix.Log | None = inner  # None once QuickFIX has destroyed this log
        self.private = private

    def clear(self) -> None:
        if self.inner is not None:
            self.inner.clear()

    def backup(self) -> None:
        if self.inner is not None:
            self.inner.backup()
            self._tighten()

    def onIncoming(self, value: str) -> None:
        if self.inner is not None:
            self.inner.onIncoming(redact(value))

    def onOutgoing(self, value: str) -> None:
        if self.inner is not None:
            self.inner.onOutgoing(redact(value))
            if _LOGON in value:
                self._tighten()

    def onEvent(self, value: str) -> None:
        if self.inner is not None:
            self.inner.onEvent(redact(value))

    def _tighten(self) -> None:
        for d in self.private:
            private_files_in(d)


class RedactingLogFactory(fix.LogFactory):  # type: ignore[misc]
    """fix.FileLogFactory's settings (FileLogPath, FileLogBackupPath), with redacted logs."""

    def __init__(self, settings: fix.SessionSettings) -> None:
        super().__init__()
        self.settings = settings
        self._logs: dict[int, RedactingLog] = {}  # by C++ address; QuickFIX holds raw pointers
        self._lock = threading.Lock()

    def create(self, session_id: fix.SessionID | None = None) -> RedactingLog:
        if session_id is None:
            d = self.settings.get()
            inner = fix.FileLog(d.getString("FileLogPath"))
        else:
            d = self.settings.get(session_id)
            path = d.getString("FileLogPath")
            if d.has("FileLogBackupPath"):
                inner = fix.FileLog(path, d.getString("FileLogBackupPath"), session_id)
            else:
                inner = fix.FileLog(path, session_id)
        private = tuple(Path(d.getString(k)) for k in ("FileLogPath", "FileStorePath") if d.has(k))
        log = RedactingLog(inner, private)
        log._tighten()
        # QuickFIX owns what create() returns. Handing it over here (disown) also keeps SWIG
        # 4's director off its ownership lock, whose unlock frees the lock: the second session
        # created through a Python LogFactory aborted with "double free".
        log.__disown__()
        with self._lock:
            self._logs[int(log.this)] = log
        return log

    def destroy(self, log: fix.Log) -> None:
        """A session is freed: close its files (the small Python shell stays with QuickFIX)."""
        with self._lock:
            mine = self._logs.pop(int(log.this), None)  # a new proxy of the same C++ log
        if mine is not None:
            mine.inner = None
        else:
            log_.warning("QuickFIX destroyed a log this factory did not make")
