"""Static files shipped with the workstation: reference data, demo seeds, FIX dictionary, icons."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """Absolute path of a shipped resource, e.g. path("reference", "exchanges.csv")."""
    p = ROOT.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(f"resource not found: {p}")
    return p
