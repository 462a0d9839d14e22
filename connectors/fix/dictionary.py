"""Outbound messages checked against the FIX 4.4 data dictionary shipped in resources/fix/.

quickfix validates what it receives (UseDataDictionary=Y); this checks what we send, before it
reaches the session, so a malformed order is refused at home instead of by the broker.
"""

from __future__ import annotations

import threading

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.config import dictionary_path
from connectors.fix.translate import utc_timestamp

_lock = threading.Lock()
_dictionary: fix.DataDictionary | None = None


def dictionary() -> fix.DataDictionary:
    global _dictionary
    with _lock:
        if _dictionary is None:
            _dictionary = fix.DataDictionary(str(dictionary_path()))
        return _dictionary


class InvalidFixMessage(ValueError):
    """A message breaks the FIX 4.4 data dictionary (missing or bad field)."""


def validate(message: fix.Message, sender: str = "WS", target: str = "BROKER") -> None:
    """Raise InvalidFixMessage if `message` (header filled in as a session would) is not valid."""
    m = fix.Message(message)
    h = m.getHeader()
    h.setField(8, "FIX.4.4")
    h.setField(T.SENDER_COMP_ID, sender)
    h.setField(T.TARGET_COMP_ID, target)
    h.setField(34, "1")
    h.setField(52, utc_timestamp())
    m.toString()  # computes BodyLength and CheckSum
    try:
        dictionary().validate(m)
    except Exception as exc:
        raise InvalidFixMessage(f"{type(exc).__name__}: {exc}") from None
