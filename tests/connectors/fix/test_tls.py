"""FIX over TLS: a session that asks for TLS gets QuickFIX's SSL initiator, or, with a QuickFIX
built without TLS (the PyPI build here), one clear refusal before any session exists; never a
silent fall back to clear text."""

from __future__ import annotations

import queue
from pathlib import Path

import pytest
import quickfix as fix

from connectors.fix.config import initiator_settings
from connectors.fix.gateway import FixGateway
from connectors.fix.tls import TlsUnavailable, build_has_tls, tls_sessions


def test_which_sessions_ask_for_tls(tmp_path: Path) -> None:
    text = initiator_settings("127.0.0.1", 1, "DESK", ["BRK1", "BRK2"], tmp_path)
    assert tls_sessions(text) == []
    one = text.replace("TargetCompID=BRK2", "TargetCompID=BRK2\nSocketUseSSL=Y")
    assert tls_sessions(one) == ["BRK2"]
    every = text.replace("[DEFAULT]", "[DEFAULT]\nCertificationAuthoritiesFile=/etc/ssl/ca.pem")
    assert tls_sessions(every) == ["BRK1", "BRK2"]  # a DEFAULT setting applies to every session
    off = text.replace("TargetCompID=BRK1", "TargetCompID=BRK1\nSocketUseSSL=N")
    assert tls_sessions(off) == []


def test_a_tls_session_is_refused_whole_by_a_quickfix_without_tls(tmp_path: Path) -> None:
    if build_has_tls():
        pytest.skip("this QuickFIX was built with TLS: the SSL initiator is used instead")
    cfg = tmp_path / "tls.cfg"
    text = initiator_settings("127.0.0.1", 1, "DESK", ["BRK1", "BRK2"], tmp_path / "state")
    cfg.write_text(text.replace("TargetCompID=BRK1", "TargetCompID=BRK1\nSocketUseSSL=Y"), encoding="utf-8")
    with pytest.raises(TlsUnavailable, match=r"to BRK1 ask for TLS .* no TLS \(compiled without HAVE_SSL\)"):
        FixGateway(cfg, tmp_path / "fix", queue.SimpleQueue())
    for target in ("BRK1", "BRK2"):  # nothing was started, no session registered
        assert fix.Session.lookupSession(fix.SessionID("FIX.4.4", "DESK", target)) is None
    assert not (tmp_path / "state").exists()


def test_clear_text_sessions_are_unchanged(tmp_path: Path) -> None:
    cfg = tmp_path / "plain.cfg"
    cfg.write_text(initiator_settings("127.0.0.1", 1, "DESK", ["BRK1"], tmp_path / "state"), encoding="utf-8")
    gateway = FixGateway(cfg, tmp_path / "fix", queue.SimpleQueue())
    assert gateway.tls is False
