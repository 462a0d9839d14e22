"""QuickFIX session settings: a standard settings file, with the workstation's defaults filled in.

Any FIX 4.2, 4.4 or 5.0 SP2 (FIXT.1.1) counterparty can be configured with an ordinary QuickFIX
settings file. Where the file leaves them out, the store and log go under the user data directory
(so sequence numbers survive restarts), and each session is validated against the data dictionary
of its version (connectors.fix.versions), or of its broker's rules (connectors.fix.brokers:
QuickFIX's dictionary plus the broker's custom and required tags). A session whose BeginString
differs from its broker's definition is refused.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from connectors.fix.brokers import rules_for
from connectors.fix.versions import FIX44, FixVersion, of_session, version
from engine.errors import ConfigurationError


def dictionary_path() -> Path:
    """FIX 4.4's dictionary (the default version)."""
    return FIX44.dictionary()


def session_version(
    target: str, wanted: FixVersion | None, data_dir: Path, where: str
) -> tuple[FixVersion, Path | None]:
    """A broker session's version and its broker's dictionary (None: QuickFIX's), refusing a
    version other than the one the broker's definition says."""
    rules = rules_for(target)
    v = wanted or (rules.version if rules else FIX44)
    if rules is None:
        return v, None
    if rules.version != v:
        raise ConfigurationError(
            f"{where}: broker {target} speaks {rules.version.name} (resources/reference/brokers.csv), "
            f"not {v.name}"
        )
    return v, rules.dictionary_file(data_dir / "dictionaries")


DEFAULTS = {
    "ConnectionType": "initiator",
    "ReconnectInterval": "1",
    "HeartBtInt": "10",
    "StartTime": "00:00:00",
    "EndTime": "00:00:00",
    "UseDataDictionary": "Y",
    "PersistMessages": "Y",
    "SocketNodelay": "Y",  # TCP_NODELAY: a lone order is not held back by Nagle (a 40 ms delayed ACK)
}


def initiator_settings(
    host: str,
    port: int,
    sender: str,
    targets: list[str],
    data_dir: Path,
    versions: dict[str, str] | None = None,
) -> str:
    """Text of a settings file for one or more broker sessions on one host and port, each in its
    broker's FIX version (`versions`: broker -> version name, else its definition, else FIX.4.4)."""
    lines = ["[DEFAULT]"]
    lines += [f"{k}={v}" for k, v in DEFAULTS.items()]
    lines += [
        f"FileStorePath={data_dir / 'store'}",
        f"FileLogPath={data_dir / 'log'}",
        f"SocketConnectHost={host}",
        f"SocketConnectPort={port}",
    ]
    for t in targets:
        wanted = (versions or {}).get(t)
        where = f"session {sender}->{t}"
        v, own = session_version(t, version(wanted, where) if wanted else None, data_dir, where)
        lines += ["", "[SESSION]", *v.session_lines(own), f"SenderCompID={sender}", f"TargetCompID={t}"]
    return "\n".join(lines) + "\n"


def complete(path: Path, data_dir: Path) -> str:
    """The settings file text with missing store, log and dictionary settings defaulted."""
    if not path.is_file():
        raise ConfigurationError(f"FIX settings file not found: {path}")
    text = path.read_text(encoding="utf-8")
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(_unique_sections(text))
    except configparser.Error as exc:
        raise ConfigurationError(f"{path}: not a QuickFIX settings file ({exc})") from None
    if not any(s.startswith("SESSION") for s in parser.sections()):
        raise ConfigurationError(f"{path}: no [SESSION] section")
    default = parser["DEFAULT"] if parser.has_section("DEFAULT") else {}
    extra = []
    for key, value in (
        ("FileStorePath", str(data_dir / "store")),
        ("FileLogPath", str(data_dir / "log")),
        ("UseDataDictionary", "Y"),
    ):
        if key not in default:
            extra.append(f"{key}={value}")
    per_session = [
        _session_extra(parser[n], data_dir, f"{path}: [SESSION] {n[7:]}")
        for n in parser.sections()
        if n.startswith("SESSION")
    ]
    if not extra and not any(per_session):
        return text
    out, n = [], 0
    for line in text.splitlines():
        out.append(line)
        if line.strip().upper() == "[SESSION]":
            out += per_session[n]
            n += 1
    text = "\n".join(out) + "\n"
    if not extra:
        return text
    if "[DEFAULT]" in text:
        return text.replace("[DEFAULT]", "[DEFAULT]\n" + "\n".join(extra), 1)
    return "[DEFAULT]\n" + "\n".join(extra) + "\n" + text


def _session_extra(sec: configparser.SectionProxy, data_dir: Path, where: str) -> list[str]:
    """The dictionary settings a session leaves out, for its version (BeginString, and
    DefaultApplVerID over FIXT.1.1), checked against its broker's definition."""
    begin = sec.get("BeginString", "").strip()
    if not begin:
        raise ConfigurationError(f"{where}: no BeginString")
    target = sec.get("TargetCompID", "").strip()
    v = of_session(begin, sec.get("DefaultApplVerID"), where)
    v, own = session_version(target, v, data_dir, f"{where} (TargetCompID {target})")
    wanted = [x for x in v.session_lines(own) if not x.startswith("BeginString=")]
    return [x for x in wanted if x.split("=", 1)[0] not in sec]


def _unique_sections(text: str) -> str:
    """configparser needs unique section names; QuickFIX repeats [SESSION]."""
    out, n = [], 0
    for line in text.splitlines():
        if line.strip().upper() == "[SESSION]":
            n += 1
            line = f"[SESSION{n}]"
        out.append(line)
    return "\n".join(out)


def state_dirs(text: str) -> list[Path]:
    """Every FileStorePath and FileLogPath of the settings (made 0700 by the gateway)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_unique_sections(text))
    found = []
    for sec in [parser["DEFAULT"], *(parser[n] for n in parser.sections())]:
        for key in ("FileStorePath", "FileLogPath"):
            if key in sec and Path(sec[key]) not in found:
                found.append(Path(sec[key]))
    return found


def usernames(text: str) -> dict[str, str]:
    """TargetCompID -> Username from the sessions (the password itself is in the keychain)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_unique_sections(text))
    out = {}
    for name in parser.sections():
        sec = parser[name]
        if name.startswith("SESSION") and "TargetCompID" in sec and "Username" in sec:
            out[sec["TargetCompID"]] = sec["Username"]
    return out
