"""FIX over TLS: QuickFIX's SSL initiator when a session asks for it and this QuickFIX build has
TLS; otherwise one clear refusal before anything starts (never a silent fall back to clear text)."""

from __future__ import annotations

import configparser
import tempfile
from functools import cache
from pathlib import Path

import quickfix as fix

from connectors.fix.config import _unique_sections
from engine.errors import ConfigurationError

TLS_KEYS = (
    "SSLProtocol",
    "SSLCipherSuite",
    "CertificationAuthoritiesFile",
    "CertificationAuthoritiesDirectory",
    "ClientCertificateFile",
    "ClientCertificateKeyFile",
    "SSLValidateCertificates",
)
"""QuickFIX's TLS settings: any of them (or SocketUseSSL=Y) means the session wants TLS."""


class TlsUnavailable(ConfigurationError):
    """A session asks for TLS and this QuickFIX build cannot do it."""


def tls_sessions(text: str) -> list[str]:
    """TargetCompIDs of the sessions that ask for TLS (a DEFAULT setting asks for every one)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_unique_sections(text))

    def wants(sec: configparser.SectionProxy) -> bool:
        return sec.get("SocketUseSSL", "N").strip().upper() == "Y" or any(k in sec for k in TLS_KEYS)

    return [
        parser[n].get("TargetCompID", n)
        for n in parser.sections()
        if n.startswith("SESSION") and wants(parser[n])
    ]


PROBE_SETTINGS = (
    "[DEFAULT]\nConnectionType=initiator\nStartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\n"
    "SocketConnectHost=127.0.0.1\nSocketConnectPort=1\nUseDataDictionary=N\n"
    "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TLS-PROBE\nTargetCompID=TLS-PROBE-TARGET\n"
)
"""One session that is built and dropped, never started (nothing connects)."""


class _Probe(fix.Application):  # type: ignore[misc]
    """An application that is never started: QuickFIX needs one to build an initiator."""

    def onCreate(self, sessionID: fix.SessionID) -> None: ...
    def onLogon(self, sessionID: fix.SessionID) -> None: ...
    def onLogout(self, sessionID: fix.SessionID) -> None: ...
    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None: ...
    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None: ...
    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None: ...
    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None: ...


@cache
def build_has_tls() -> bool:
    """Whether this QuickFIX was compiled with TLS (HAVE_SSL): building an SSL initiator (never
    started) fails with 'HAVE_SSL not enabled' without it."""
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "probe.cfg"
        cfg.write_text(PROBE_SETTINGS, encoding="utf-8")
        settings = fix.SessionSettings(str(cfg))
        try:
            fix.SSLSocketInitiator(_Probe(), fix.MemoryStoreFactory(), settings)
        except fix.ConfigError as exc:
            return "HAVE_SSL" not in str(exc)
        return True


def require_tls_if_asked(text: str) -> bool:
    """True when the sessions want TLS and QuickFIX can do it; raises TlsUnavailable when they
    want it and it cannot; False for clear-text sessions."""
    asked = tls_sessions(text)
    if not asked:
        return False
    if not build_has_tls():
        raise TlsUnavailable(
            f"FIX session(s) to {', '.join(asked)} ask for TLS (SocketUseSSL or SSL settings), but this "
            "QuickFIX build has no TLS (compiled without HAVE_SSL): nothing was started. Connect through a "
            "TLS tunnel (for example stunnel to the broker's TLS port, with SocketConnectHost=127.0.0.1), "
            "or install a QuickFIX built with OpenSSL (docs/oms.md#fix-over-tls)"
        )
    return True
