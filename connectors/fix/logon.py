"""FIX logon credentials: Username from the settings file, Password from the OS keychain.

Every session with a `Username` needs its password in the credential store (service
`fix:<TargetCompID>`): it is read when the gateway is built, so a missing password or an insecure
keychain stops the start with one clear error instead of a Logon the broker refuses.

QuickFIX persists every message it sends, the Logon with its Password included, in the file
store. So for the Logon alone persistence is switched off (QuickFIX still counts its sequence
number: an admin message is never resent, a gap fill covers it) and it is switched back on
before the next message, which passes through toAdmin or toApp first.
"""

from __future__ import annotations

import threading

import quickfix as fix

from connectors.credentials import KeyringCredentialStore
from connectors.fix import tags as T
from engine.errors import ConfigurationError


def service(broker: str) -> str:
    """The keychain service of a broker's FIX logon password."""
    return f"fix:{broker}"


class LogonCredentials:
    """Adds Username/Password to outgoing Logons and keeps that Logon out of the message store."""

    def __init__(self, store: KeyringCredentialStore | None, usernames: dict[str, str]) -> None:
        if usernames and store is None:
            raise ConfigurationError(
                f"FIX session(s) {', '.join(sorted(usernames))} log on with a Username but no "
                "credential store was given for the password"
            )
        self._secrets: dict[str, tuple[str, str]] = {}
        for broker, user in sorted(usernames.items()):
            assert store is not None
            self._secrets[broker] = (user, store.require(service(broker), user))
        self._saved: dict[str, bool] = {}  # session -> its PersistMessages while a Logon is sent
        self._lock = threading.Lock()

    @property
    def brokers(self) -> list[str]:
        return sorted(self._secrets)

    def before_send(self, message: fix.Message, session_id: fix.SessionID, is_logon: bool) -> None:
        """Called first in toAdmin and toApp, inside QuickFIX's send (under the session's lock)."""
        key = session_id.toString()
        if is_logon:
            broker = session_id.getTargetCompID().getValue()
            found = self._secrets.get(broker)
            if found is None:
                return
            message.setField(T.USERNAME, found[0])
            message.setField(T.PASSWORD, found[1])
            session = fix.Session.lookupSession(session_id)
            if session is not None:
                with self._lock:
                    self._saved.setdefault(key, bool(session.getPersistMessages()))
                session.setPersistMessages(False)
            return
        with self._lock:
            if key not in self._saved:
                return
            persist = self._saved.pop(key)
        session = fix.Session.lookupSession(session_id)
        if session is not None:
            session.setPersistMessages(persist)
