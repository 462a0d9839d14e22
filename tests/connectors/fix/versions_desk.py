"""One OMS with a session per FIX version: SIM42 (FIX 4.2), SIM (FIX 4.4) and SIM50 (FIX 5.0 SP2
over FIXT.1.1), each broker as resources/reference/brokers.csv defines it, to counterparts listening
on their own ports (simulated brokers, or QuickFIX's executor)."""

from __future__ import annotations

from pathlib import Path

from connectors.fix.config import initiator_settings

BROKERS = {"SIM42": "FIX.4.2", "SIM": "FIX.4.4", "SIM50": "FIXT.1.1"}


def sessions_config(tmp: Path, ports: dict[str, int], sender: str = "WS") -> Path:
    """A settings file with one session per broker, each connecting to its own port."""
    text = initiator_settings("127.0.0.1", 0, sender, list(ports), tmp / "fix")
    for broker, port in ports.items():
        text = text.replace(f"TargetCompID={broker}\n", f"TargetCompID={broker}\nSocketConnectPort={port}\n")
    (tmp / "fix").mkdir(exist_ok=True)
    path = tmp / "sessions.cfg"
    path.write_text(text, encoding="utf-8")
    return path


def received(fix_dir: Path, broker: str, msg_type: str = "8") -> list[dict[int, str]]:
    """The messages of one type the OMS's side logged from `broker`, in order, as {tag: value}."""
    out = []
    for log in sorted(fix_dir.rglob(f"*-{broker}.messages.current.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            body = line[line.index("8=F") :] if "8=F" in line else ""
            tags = {int(k): v for k, _, v in (f.partition("=") for f in body.split("\x01") if "=" in f)}
            if tags.get(35) == msg_type and tags.get(49) == broker:
                out.append(tags)
    return out


def sent(fix_dir: Path, broker: str, msg_type: str) -> list[dict[int, str]]:
    """The messages of one type the OMS sent to `broker`, in order."""
    out = []
    for log in sorted(fix_dir.rglob(f"*-{broker}.messages.current.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            body = line[line.index("8=F") :] if "8=F" in line else ""
            tags = {int(k): v for k, _, v in (f.partition("=") for f in body.split("\x01") if "=" in f)}
            if tags.get(35) == msg_type and tags.get(56) == broker:
                out.append(tags)
    return out
