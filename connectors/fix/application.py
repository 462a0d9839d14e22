"""The quickfix Application of the workstation's initiator sessions.

Callbacks run on quickfix's threads. They only translate what arrived into an immutable engine
message and put it on a `queue.SimpleQueue`; the OMS engine thread applies it. They never touch
the database or the OMS, and never raise into quickfix (except DoNotSend, on purpose).

Gaps: QuickFIX never replays our application messages. When the broker asks for a resend, every
resent order, cancel or status request (PossDupFlag=Y) is refused in `toApp`, so QuickFIX sends a
SequenceReset-GapFill over them: an order may be stale by then (cancelled on the desk, or from
yesterday), and the database, not QuickFIX's store, says what still has to go. Instead the
ResendRequest received and each gap fill sent or received is posted as a SessionGap, and the OMS
loop asks the broker for every open order and sends again those it never got (engine.oms.loop).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import replace
from datetime import UTC, datetime

import quickfix as fix

from connectors.credentials import KeyringCredentialStore
from connectors.fix import tags as T
from connectors.fix.logon import LogonCredentials
from connectors.fix.refusals import SentOrders, refusal
from connectors.fix.translate import (
    alloc_ack,
    alloc_report,
    business_reject,
    cancel_reject,
    exec_report,
    msg_type,
)
from connectors.fix.versions import FixVersion, of_session
from engine.oms.messages import Inbound, SessionGap, SessionState

log = logging.getLogger(__name__)


def _int(fields: fix.FieldMap, tag: int) -> int:
    return int(fields.getField(tag)) if fields.isSetField(tag) else 0


def _is_gap_fill(message: fix.Message) -> bool:
    """A SequenceReset (35=4) with GapFillFlag=Y (a reset without it is not a gap fill)."""
    return bool(
        msg_type(message) == "4" and message.isSetField(T.GAP_FILL) and message.getField(T.GAP_FILL) == "Y"
    )


def version_of(session_id: fix.SessionID) -> FixVersion:
    """A session's FIX version (FIXT.1.1 carries 5.0 SP2, the only version we speak over it)."""
    return of_session(session_id.getBeginString().getValue())


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
        self.orders_sent = SentOrders()  # a Reject or BusinessMessageReject names only RefSeqNum
        self.allocs_sent: dict[str, dict[int, str]] = {}
        """Per broker, MsgSeqNum -> AllocID of each J sent (a BusinessMessageReject names only RefSeqNum)."""

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

    def _gap(self, message: fix.Message, sid: fix.SessionID, kind: str) -> None:
        """Post a SessionGap: the range a ResendRequest asks for, or that a gap fill skips."""
        if kind == "resend_request_received":
            begin, end = _int(message, T.BEGIN_SEQ_NO), _int(message, T.END_SEQ_NO)
        else:
            begin, end = _int(message.getHeader(), T.MSG_SEQ_NUM), _int(message, T.NEW_SEQ_NO)
        log.warning("FIX %s on %s: %d..%d", kind.replace("_", " "), sid.toString(), begin, end)
        self.inbox.put(SessionGap(broker=broker_of(sid), kind=kind, begin_seq=begin, end_seq=end))

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            if _is_gap_fill(message):
                self._gap(message, sessionID, "gap_fill_sent")
        except Exception:
            log.exception("toAdmin failed on a gap fill")
        try:
            self.logon.before_send(message, sessionID, msg_type(message) == "A")
        except Exception:
            log.exception("toAdmin failed")

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            kind = msg_type(message)
            if kind == "0":
                self._info(sessionID).last_heartbeat = datetime.now(UTC)
            elif kind == "2":
                self._gap(message, sessionID, "resend_request_received")
            elif _is_gap_fill(message):
                self._gap(message, sessionID, "gap_fill_received")
            elif kind == "3":  # a session Reject of one of our order messages: it was refused
                self._refused(message, sessionID)
        except Exception:
            log.exception("fromAdmin failed")

    def _refused(self, message: fix.Message, sid: fix.SessionID) -> bool:
        """Post what a Reject (3) or BusinessMessageReject (j) of an order message means, if it is one."""
        found = refusal(message, broker_of(sid), sid.toString(), self.orders_sent)
        if found is None:
            return False
        log.warning("FIX %s refused: %s", sid.toString(), found.text)
        self.inbox.put(
            replace(found, session_id=sid.toString(), seq_num=_int(message.getHeader(), T.MSG_SEQ_NUM))
        )
        return True

    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        # Never replay an application message: QuickFIX gap-fills it instead, and the OMS, told of
        # the gap (toAdmin sees the gap fill), asks the broker for its open orders and resends
        # from the database what the broker never got.
        try:
            self.logon.before_send(message, sessionID, False)  # persistence back on after a Logon
        except Exception:
            log.exception("toApp failed")
        header = message.getHeader()
        if header.isSetField(T.POSS_DUP) and header.getField(T.POSS_DUP) == "Y":
            raise fix.DoNotSend()
        try:
            kind = msg_type(message)
            self.orders_sent.note(broker_of(sessionID), _int(header, T.MSG_SEQ_NUM), message, kind)
            if kind == "J":
                with self._lock:
                    sent = self.allocs_sent.setdefault(broker_of(sessionID), {})
                    sent[_int(header, T.MSG_SEQ_NUM)] = message.getField(T.ALLOC_ID)
                    while len(sent) > 10_000:  # only recent ones can be rejected
                        del sent[next(iter(sent))]
        except Exception:
            log.exception("toApp could not note an AllocationInstruction")

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            kind = msg_type(message)
            broker = broker_of(sessionID)
            where = {"session_id": sessionID.toString(), "seq_num": _int(message.getHeader(), T.MSG_SEQ_NUM)}
            if kind == "8":
                self.inbox.put(exec_report(message, broker, version_of(sessionID), **where))
            elif kind == "9":
                self.inbox.put(replace(cancel_reject(message, broker), **where))
            elif kind == "P":
                self.inbox.put(replace(alloc_ack(message, broker), **where))
            elif kind == "AS":
                self.inbox.put(replace(alloc_report(message, broker), **where))
            elif kind == "j" and self._refused(message, sessionID):
                pass
            elif kind == "j":
                with self._lock:
                    sent = dict(self.allocs_sent.get(broker, {}))
                self.inbox.put(replace(business_reject(message, broker, sent), **where))
            else:
                log.info("ignored FIX message type %s from %s", kind, broker)
        except Exception:
            log.exception("could not translate a FIX message: %s", message.toString().replace("\x01", "|"))
