"""The desk's rebalance path with run options on both backends: `run_in_child` hands one RunOptions to
a spawned child, which builds the CLI's settings; a what-if writes nothing (engine.rebalance.run_options,
engine.views.rebalance_process)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, text

import resources
from engine.demo.build import build_demo_book
from engine.rebalance.run_options import RunOptions, build_settings
from engine.rebalance.settings import Style
from engine.store.database import Database
from engine.views.rebalance import Selection
from engine.views.rebalance_process import run_in_child
from workstation.cli.main import build_parser
from workstation.cli.rebalance_modes import run_options as cli_run_options


def _counts(database: Database) -> dict[str, int]:
    names = inspect(database.engine).get_table_names()
    with database.engine.connect() as conn:
        return {n: int(conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()) for n in names}


def test_run_in_child_with_options(database: Database) -> None:
    """PostgreSQL only (about 19 s at load 3: the demo book takes 15 s to build on PostgreSQL, the spawned child 4 s): tests/ui/test_run_options.py
    runs the same path on SQLite from the dock, with a saving min-max run."""
    if database.engine.url.get_backend_name() == "sqlite":
        pytest.skip("SQLite: tests/ui/test_run_options.py runs this path from the dock")
    build_demo_book(database, resources.path("reference"), accounts=2, seed=7, today=date(2026, 11, 22))
    counts = _counts(database)
    seen: list[str] = []
    what_if = RunOptions(style=Style.MINMAX, minmax_to="target", max_turnover=0.3, what_if=True)
    summary = run_in_child(
        database, Selection("all"), what_if, "pat.pm", lambda _p, t, _b: seen.append(t), lambda: False
    )
    args = build_parser("rebalance").parse_args(
        ["rebalance", "--style", "minmax", "--minmax-to", "target", "--max-turnover", "0.3", "--what-if"]
    )
    assert summary["settings"] == build_settings(cli_run_options(args))
    assert summary["what_if"] and summary["accounts"] == 2 and seen
    assert _counts(database) == counts  # a what-if writes nothing, not even audit
