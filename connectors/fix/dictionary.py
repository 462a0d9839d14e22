"""Outbound messages checked against their session's data dictionary (FIX 4.2, 4.4 or 5.0 SP2 over
FIXT.1.1, or a broker's own) before they reach the session.

quickfix validates what it receives (UseDataDictionary=Y); this checks what we send, so a malformed
order is refused at home instead of by the broker.
"""

from __future__ import annotations

import threading
from pathlib import Path

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.translate import utc_timestamp
from connectors.fix.versions import FIX44, FixVersion, transport_dictionary

_lock = threading.Lock()
_dictionaries: dict[Path, fix.DataDictionary] = {}


def _load(path: Path) -> fix.DataDictionary:
    with _lock:
        if path not in _dictionaries:
            _dictionaries[path] = fix.DataDictionary(str(path))
        return _dictionaries[path]


def dictionary(path: Path | None = None) -> fix.DataDictionary:
    """A data dictionary, read once (FIX 4.4's by default)."""
    return _load(path or FIX44.dictionary())


class InvalidFixMessage(ValueError):
    """A message breaks its data dictionary (missing or bad field)."""


def validate(
    message: fix.Message,
    sender: str = "WS",
    target: str = "BROKER",
    version: FixVersion = FIX44,
    app_dictionary: Path | None = None,
) -> None:
    """Raise InvalidFixMessage if `message` (header filled in as a session would) is not valid in
    `version` (against `app_dictionary`, a broker's own, if given)."""
    m = fix.Message(message)
    h = m.getHeader()
    h.setField(8, version.begin_string)
    h.setField(T.SENDER_COMP_ID, sender)
    h.setField(T.TARGET_COMP_ID, target)
    h.setField(34, "1")
    h.setField(52, utc_timestamp())
    m.toString()  # computes BodyLength and CheckSum
    app = dictionary(app_dictionary or version.dictionary())
    try:
        if version.fixt:
            fix.DataDictionary.validate(m, dictionary(transport_dictionary()), app)
        else:
            app.validate(m)
    except Exception as exc:
        raise InvalidFixMessage(f"{type(exc).__name__}: {exc}") from None
