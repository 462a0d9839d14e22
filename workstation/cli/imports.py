"""`workstation import KIND FILE.csv`: validated, all-or-nothing imports."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pass
