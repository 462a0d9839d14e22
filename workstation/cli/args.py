"""Argument types shared by every command group: numbers in a sane range, dates, and paths that
must exist (or be writable) before a command opens the book.

Each type raises argparse.ArgumentTypeError, so a bad value is refused before anything runs:
`CliParser.error` prints it as one `error: ...` line and exits with status 2 (docs/cli.md).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import NoReturn

USAGE_EXIT = 2
MAX_WORKERS = 64  # local processes; more than this on one machine is a typo, not a plan


class CliParser(argparse.ArgumentParser):
    """argparse with one `error: ...` line (no usage block) for a refused command line, exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(USAGE_EXIT)


def _number(text: str, kind: Callable[[str], float], what: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An integer from `lo` to `hi` inclusive (no upper bound when `hi` is None)."""

    def parse(text: str) -> int:
        value = int(_number(text, int, "a whole number"))
        if value < lo or (hi is not None and value > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected a whole number {bound}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def float_range(
    lo: float, hi: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite number in [lo, hi] (an open end with `low_open`/`high_open`; no top when hi is None)."""

    def parse(text: str) -> float:
        value = _number(text, float, "a number")
        below = value <= lo if low_open else value < lo
        above = hi is not None and (value >= hi if high_open else value > hi)
        if below or above:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            span = (
                f"{left}{lo:g}, {hi:g}{right}"
                if hi is not None
                else f"{'above' if low_open else 'at least'} {lo:g}"
            )
            raise argparse.ArgumentTypeError(f"{text} is out of range: expected a number in {span}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = int_range(1)
non_negative_int = int_range(0)
record_id = int_range(1, 2**63 - 1)  # a database id
seed = int_range(0, 2**32 - 1)  # numpy seeds are non-negative
row_limit = int_range(1, 1_000_000)
workers = int_range(1, MAX_WORKERS)
batch_size = int_range(1, 100_000)
port = int_range(1, 65_535)
fraction = float_range(0.0, 1.0)  # a rate or share, 0 to 1
seconds = float_range(0.0, 7 * 24 * 3600.0, low_open=True)  # a positive duration, at most a week
wait_seconds = float_range(0.0, 7 * 24 * 3600.0)  # a duration that may be 0
amount = float_range(0.0)  # a non-negative finite money amount
confidence = float_range(0.0, 1.0, low_open=True, high_open=True)
turnover = float_range(0.0, 2.0)  # (buys + sells) / value: 2 sells everything and buys it all back
solve_seconds = float_range(0.0, 600.0, low_open=True)  # one account's solver time limit
horizon_days = int_range(1, 1000)  # a VaR horizon
demo_accounts = int_range(1, 100_000)
history_years = int_range(0, 10)  # years of simulated demo history
fill_parts = int_range(0, 1000)  # 0: the simulator never fills
clock_speed = float_range(0.0, 1e6, low_open=True)


def iso_date(text: str) -> date:
    """A YYYY-MM-DD date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def db_url(text: str) -> str:
    """A database URL; an SQLite file path must not be a folder (the URL itself is parsed later)."""
    if text.startswith("sqlite:///"):
        file = text[len("sqlite:///") :].split("?", 1)[0]
        if file and file != ":memory:" and Path(file).expanduser().is_dir():
            raise argparse.ArgumentTypeError(f"{file}: is a directory, not a database file")
    return text


def input_file(text: str) -> Path:
    """An existing, readable regular file."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text}: not readable (permission denied)")
    return path


def output_file(text: str) -> Path:
    """A file to write: not a directory, in an existing writable directory."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory, not a file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text}: not writable (permission denied)")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into: an existing writable folder, or one that can be created there."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, not a folder")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: not writable (permission denied)")
    return path
