"""QuickFIX session settings: a standard settings file, with the workstation's defaults filled in.

Any FIX 4.4 counterparty can be configured with an ordinary QuickFIX settings file. Where the file
leaves them out, the store and log go under the user data directory (so sequence numbers survive
restarts), and messages are validated against the FIX 4.4 data dictionary shipped in resources/.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import resources
from engine.errors import ConfigurationError


def dictionary_path() -> Path:
    return resources.path("fix", "FIX44.xml")


DEFAULTS = {
    "ConnectionType": "initiator",
    "ReconnectInterval": "1",
    "HeartBtInt": "10",
    "StartTime": "00:00:00",
    "EndTime": "00:00:00",
    "UseDataDictionary": "Y",
    "PersistMessages": "Y",
}


def initiator_settings(
    host: str,
    port: int,
    sender: str,
    targets: list[str],
    data_dir: Path,
) -> str:
    """Text of a settings file for one or more broker sessions on one host and port."""
    lines = ["[DEFAULT]"]
    lines += [f"{k}={v}" for k, v in DEFAULTS.items()]
    lines += [
        f"FileStorePath={data_dir / 'store'}",
        f"FileLogPath={data_dir / 'log'}",
        f"DataDictionary={dictionary_path()}",
        f"SocketConnectHost={host}",
        f"SocketConnectPort={port}",
    ]
    for t in targets:
        lines += ["", "[SESSION]", "BeginString=FIX.4.4", f"SenderCompID={sender}", f"TargetCompID={t}"]
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
        ("DataDictionary", str(dictionary_path())),
        ("UseDataDictionary", "Y"),
    ):
        if key not in default:
            extra.append(f"{key}={value}")
    if not extra:
        return text
    if "[DEFAULT]" in text:
        return text.replace("[DEFAULT]", "[DEFAULT]\n" + "\n".join(extra), 1)
    return "[DEFAULT]\n" + "\n".join(extra) + "\n" + text


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
