"""`workstation compliance` command group (not yet built: registers no command)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this group's subcommands to the CLI."""
