"""The quickfix Application of the workstation's initiator sessions.

Callbacks run on quickfix's threads. They only translate what arrived into an immutable engine
message and put it on a `queue.SimpleQueue`; the OMS engine thread applies it. They never touch
the database or the OMS, and never raise into quickfix (except DoNotSend, on purpose).
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import UTC, datetime

import quickfix as fix

from connectors.credentials import KeyringCredentialStore
from connectors.fix import tags as T
from connectors.fix.logon import LogonCredentials
from connectors.fix.translate import cancel_reject, exec_report, msg_type
from engine.oms.messages import Inbound, SessionState

log = logging.getLogger(__name__)


def broker_of(session_id: fix.SessionID) -> str:
    """A session's broker is its TargetCompID (the counterparty)."""
    return session_id.getTargetCompID().getValue()


class SessionInfo:
    """Live status of one session for the blotter: logon, sequence numbers, last heartbeat."""

    def __init__(self, broker: str) -> None:
        self.broker = broker
        self.logged_on = False
        self.last_heartbeat: datetime | None = None
        self.last_logon: datetime | None = None


class WorkstationApplication(fix.Application):  # type: ignore[misc]
    """Initiator callbacks: translate and enqueue. Passwords come from the keychain."""

    def __init__(
        self,
        inbox: queue.SimpleQueue[Inbound],
        credentials: KeyringCredentialStore | None = None,
        usernames: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.inbox = inbox
        self.logon = LogonCredentials(credentials, usernames or {})  # refuses a missing password
        self.info: dict[str, SessionInfo] = {}
        self._lock = threading.Lock()

    def _info(self, sid: fix.SessionID) -> SessionInfo:
        b = broker_of(sid)
        with self._lock:
            return self.info.setdefault(b, SessionInfo(b))

    def _state(self, sid: fix.SessionID, kind: str, logged_on: bool, text: str | None = None) -> None:
        sender = target = 0
        session = fix.Session.lookupSession(sid)
        if session is not None:
            sender, target = session.getExpectedSenderNum(), session.getExpectedTargetNum()
        self.inbox.put(
            SessionState(
                broker=broker_of(sid),
                session_id=sid.toString(),
                kind=kind,
                logged_on=logged_on,
                next_sender_seq=sender,
                next_target_seq=target,
                text=text,
            )
        )

    def onCreate(self, sessionID: fix.SessionID) -> None:
        self._info(sessionID)

    def onLogon(self, sessionID: fix.SessionID) -> None:
        info = self._info(sessionID)
        info.logged_on = True
        info.last_logon = datetime.now(UTC)
        log.info("FIX logon %s", sessionID.toString())
        self._state(sessionID, "logon", True)

    def onLogout(self, sessionID: fix.SessionID) -> None:
        self._info(sessionID).logged_on = False
        log.info("FIX logout %s", sessionID.toString())
        self._state(sessionID, "logout", False)

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            self.logon.before_send(message, sessionID, msg_type(message) == "A")
        except Exception:
            log.exception("toAdmin failed")

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            if msg_type(message) == "0":
                self._info(sessionID).last_heartbeat = datetime.now(UTC)
        except Exception:
            log.exception("fromAdmin failed")

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        # A resend of an old order after a reconnect would be stale: send a gap fill instead.
        # The OMS asks the broker for every unacknowledged order at logon and resends it itself.
        try:
            self.logon.before_send(message, sessionID, False)  # persistence back on after a Logon
        except Exception:
            log.exception("toApp failed")
        header = message.getHeader()
        if header.isSetField(T.POSS_DUP) and header.getField(T.POSS_DUP) == "Y":
            raise fix.DoNotSend()

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            kind = msg_type(message)
            broker = broker_of(sessionID)
            if kind == "8":
                self.inbox.put(exec_report(message, broker))
            elif kind == "9":
                self.inbox.put(cancel_reject(message, broker))
            else:
                log.info("ignored FIX message type %s from %s", kind, broker)
        except Exception:
            log.exception("could not translate a FIX message: %s", message.toString().replace("\x01", "|"))
