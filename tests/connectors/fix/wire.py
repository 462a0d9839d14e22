"""What went over the wire: the NewOrderSingles in QuickFIX's message log of the OMS's side."""

from __future__ import annotations

from pathlib import Path


def sent_orders(fix_dir: Path) -> dict[str, dict[int, str]]:
    """ClOrdID -> {tag: value} of every NewOrderSingle (35=D) logged under `fix_dir`."""
    out: dict[str, dict[int, str]] = {}
    for log in fix_dir.rglob("*.messages.current.log"):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\x0135=D\x01" not in line:
                continue
            body = line[line.index("8=FIX") :]
            tags = {int(k): v for k, _, v in (f.partition("=") for f in body.split("\x01") if "=" in f)}
            out[tags[11]] = tags
    return out
