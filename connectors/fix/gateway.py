"""The FIX gateway: one quickfix SocketInitiator for every configured broker session.

It implements engine.oms.gateway.OrderGateway: `send` builds the FIX message and hands it to the
session of the message's broker (its TargetCompID). Store and log are files, so sequence numbers
survive restarts.

On a shared book, `lease=` makes the gateway refuse to start unless this workstation holds the
routing lease of every session (engine.shared.lease): a second desk gets LeaseHeld naming the
owner, or waits (`lease_wait`) as a standby until the owner's lease expires. If the lease is
lost while running, the gateway stops its sessions at once and refuses every send (fencing).

QuickFIX keeps every live Session in a process-wide registry keyed by SessionID, and a new
initiator whose SessionID is still registered silently reuses the OLD (stopped) Session: it
never logs on, and when the old initiator is finally freed its Session is deleted under the new
one's connection (a segfault). So `stop()` frees the initiator itself, at once and on the
calling thread, then the store and log factories its Sessions use while being destroyed; and
nothing here holds the gateway in a reference cycle (the lease calls back through a weak
reference), which would leave its freeing to the garbage collector at a random time and thread.
`start()` refuses plainly if a session of this settings file is still registered.

With the book's database (`book=`, by default the lease's), `start()` first lowers each session's
expected incoming MsgSeqNum to the one after the last broker message the OMS applied
(engine.oms.progress): messages QuickFIX took but the OMS never applied (it died while the
database was locked) are then asked for again at logon, and come again with PossDupFlag=Y.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import quickfix as fix

from connectors.credentials import KeyringCredentialStore
from connectors.fix.application import WorkstationApplication, broker_of, version_of
from connectors.fix.brokers import BrokerRuleError, rules_for
from connectors.fix.config import complete, state_dirs, usernames
from connectors.fix.dictionary import InvalidFixMessage, dictionary, validate
from connectors.fix.log import RedactingLogFactory
from connectors.fix.tls import require_tls_if_asked
from connectors.fix.translate import msg_type, to_fix
from connectors.fix.versions import FixVersion
from engine.oms.errors import RouteError
from engine.oms.messages import Inbound, Outbound
from engine.oms.progress import resume_points
from engine.shared.lease import RoutingLease, holder
from engine.store.database import Database
from engine.store.files import private_dir, private_files_in, private_umask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerStatus:
    """Per-broker session status for the blotter and `oms --headless` output."""

    broker: str
    session_id: str
    logged_on: bool
    next_sender_seq: int
    next_target_seq: int
    last_heartbeat: datetime | None


def _weak_lost(gateway: FixGateway) -> Callable[[str], None]:
    """The lease's on_lost callback without a strong reference back to the gateway (no cycle)."""
    ref = weakref.ref(gateway)

    def lost(session_key: str) -> None:
        g = ref()
        if g is not None:
            g._lost(session_key)

    return lost


class FixGateway:
    """Starts the initiator sessions of a settings file and sends engine messages over them."""

    def __init__(
        self,
        settings_file: Path,
        data_dir: Path,
        inbox: queue.SimpleQueue[Inbound],
        credentials: KeyringCredentialStore | None = None,
        *,
        lease_db: object | None = None,
        lease_ttl: float = 15.0,
        lease_owner: str | None = None,
        book: Database | None = None,
    ) -> None:
        text = complete(settings_file, data_dir)
        self.tls = require_tls_if_asked(text)  # a session asking for TLS that we cannot give stops here
        self.book = book if book is not None else lease_db if isinstance(lease_db, Database) else None
        # First: a Username without its password in a secure keychain stops here, leaving nothing.
        self.app = WorkstationApplication(inbox, credentials, usernames(text))
        for d in (data_dir, *state_dirs(text)):  # 0700, their files 0600 (docs/oms.md)
            private_files_in(private_dir(d))
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False, dir=data_dir) as f:
            f.write(text)
            self._effective = Path(f.name)
        self.settings = fix.SessionSettings(str(self._effective))
        self.initiator: fix.SocketInitiator | None = None  # made in start(): after the lease is ours
        self.session_ids: dict[str, fix.SessionID] = {}
        self.versions: dict[str, FixVersion] = {}
        self.dictionaries: dict[str, Path] = {}  # each session's application dictionary
        for sid in self.settings.getSessions():
            b = broker_of(sid)
            self.session_ids[b] = sid
            self.versions[b] = version_of(sid)
            d = self.settings.get(sid)
            key = "AppDataDictionary" if self.versions[b].fixt else "DataDictionary"
            self.dictionaries[b] = Path(d.getString(key)) if d.has(key) else self.versions[b].dictionary()
            dictionary(self.dictionaries[b])  # read now: FIX50SP2.xml takes seconds, not on the first order
        self.lease: RoutingLease | None = None
        self.fenced = False
        if lease_db is not None:
            keys = sorted(sid.toString() for sid in self.session_ids.values())
            self.lease = RoutingLease(
                lease_db, keys, owner=lease_owner, ttl=lease_ttl, on_lost=_weak_lost(self)
            )

    def start(self, lease_wait: float = 0.0) -> None:
        """Start the sessions; with a lease, first take it (LeaseHeld if another desk keeps it)."""
        stale = [b for b, sid in self.session_ids.items() if fix.Session.lookupSession(sid) is not None]
        if stale:
            raise RouteError(
                f"FIX session(s) {', '.join(self.session_ids[b].toString() for b in stale)} are still "
                "running in this process (another gateway was not stopped)"
            )
        if self.lease is not None:
            self.lease.acquire(wait=lease_wait)
        # Store and log (sequence numbers) are opened only now, when no other desk is using them.
        self._store = fix.FileStoreFactory(self.settings)
        self._log = RedactingLogFactory(self.settings)  # no Password (554) in any log line
        with private_umask():  # the sessions' store and log files are created 0600
            make = fix.SSLSocketInitiator if self.tls else fix.SocketInitiator
            self.initiator = make(self.app, self._store, self.settings, self._log)
        self._resume()  # the sessions exist now, and none has connected yet
        self.initiator.start()

    def _resume(self) -> None:
        """Expect from each session the message after the last one the OMS applied, if earlier
        than QuickFIX's store says (never later: that would skip messages)."""
        if self.book is None:
            return
        points = resume_points(self.book)
        for sid in self.session_ids.values():
            want = points.get(sid.toString())
            session = fix.Session.lookupSession(sid)
            if want is None or session is None:
                continue
            have = session.getExpectedTargetNum()
            if want < have:
                log.warning(
                    "%s: the OMS applied up to MsgSeqNum %d, QuickFIX had taken %d: asking again from %d",
                    sid.toString(), want - 1, have - 1, want,
                )  # fmt: skip
                session.setNextTargetMsgSeqNum(want)

    def _lost(self, session_key: str) -> None:
        log.error("routing lease on %s lost: stopping FIX sessions, nothing more is sent", session_key)
        self.fenced = True
        if self.initiator is not None:
            self.initiator.stop(True)

    def lease_owner(self, broker: str) -> str | None:
        """Who holds the routing lease of a broker's session (None without a lease)."""
        if self.lease is None or broker not in self.session_ids:
            return None
        info = holder(self.lease.database, self.session_ids[broker].toString())
        return info.owner if info else None

    def stop(self, force: bool = False) -> None:
        """Log out, stop, and free the sessions now (force: drop the sockets without waiting for
        the logout reply). Routing stops before the lease is given up."""
        initiator, self.initiator = self.initiator, None
        if initiator is not None:
            if not initiator.isStopped():
                initiator.stop(force)
            # Freed here, on this thread: its Sessions leave QuickFIX's registry, and they are
            # destroyed while the store and log factories they call back into still exist.
            del initiator
            self._store = self._log = None
        if self.lease is not None:
            self.lease.release()
        self._effective.unlink(missing_ok=True)

    @property
    def brokers(self) -> list[str]:
        return sorted(self.session_ids)

    def _session(self, broker: str) -> fix.Session:
        sid = self.session_ids.get(broker)
        if sid is None:
            raise RouteError(f"no FIX session for broker {broker!r} (sessions: {', '.join(self.brokers)})")
        session = fix.Session.lookupSession(sid)
        if session is None:
            raise RouteError(f"FIX session for {broker} is not running")
        return session

    def is_logged_on(self, broker: str) -> bool:
        try:
            return bool(self._session(broker).isLoggedOn())
        except RouteError:
            return False

    def send(self, message: Outbound) -> None:
        if self.fenced or (self.lease is not None and not self.lease.held):
            raise RouteError(f"this workstation does not hold the routing lease for {message.broker}")
        session = self._session(message.broker)
        if not session.isLoggedOn():
            raise RouteError(f"FIX session for {message.broker} is not logged on")
        version = self.versions[message.broker]
        msg = to_fix(message, version)
        rules = rules_for(message.broker)
        try:
            if rules is not None:
                rules.apply(msg, msg_type(msg))  # its custom tags, and its required ones present
            validate(
                msg, target=message.broker, version=version, app_dictionary=self.dictionaries[message.broker]
            )
        except BrokerRuleError as exc:
            raise RouteError(f"{message.cl_ord_id}: {exc}") from None
        except InvalidFixMessage as exc:
            raise RouteError(
                f"{message.cl_ord_id}: not a valid {version.name} message for {message.broker} ({exc})"
            ) from None
        if not fix.Session.sendToTarget(msg, self.session_ids[message.broker]):
            raise RouteError(f"FIX session for {message.broker} refused the message")

    def status(self) -> list[BrokerStatus]:
        out = []
        for broker in self.brokers:
            sid = self.session_ids[broker]
            session = fix.Session.lookupSession(sid)
            info = self.app.info.get(broker)
            out.append(
                BrokerStatus(
                    broker=broker,
                    session_id=sid.toString(),
                    logged_on=bool(session and session.isLoggedOn()),
                    next_sender_seq=session.getExpectedSenderNum() if session else 0,
                    next_target_seq=session.getExpectedTargetNum() if session else 0,
                    last_heartbeat=info.last_heartbeat if info else None,
                )
            )
        return out
