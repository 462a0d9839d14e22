"""`workstation rebalance transition plan|list|show|step` and `rebalance exceptions` from the CLI:
the --json shapes named in docs/cli.md, exit codes, and a refused trader changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workstation.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_transition_cli(book_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_file = tmp_path / "book.db"
    shutil.copyfile(book_path, db_file)
    db = ["--db", f"sqlite:///{db_file}"]
    plan = ["rebalance", "transition", "plan", "--account", "A000003", "--model", "GLOBAL", "--steps", "3",
            "--turnover", "0.3", "--tax-budget", "5000"]  # fmt: skip
    assert run(capsys, *db, *plan, "--user", "tara.trader")[0] == 2  # no rebalance.run
    code, out = run(capsys, *db, *plan, "--user", "pat.pm", "--json")
    assert code == 0
    stored = json.loads(out)
    assert {"id", "account", "model", "steps", "turnover_budget", "tax_budget", "currency", "te_start",
            "te_final", "te_one_shot", "reaches_model", "gap", "total_tax", "projection"} <= set(stored)  # fmt: skip
    assert (stored["account"], stored["model"], stored["currency"], stored["steps"]) == (
        "A000003",
        "GLOBAL",
        "GBP",
        3,
    )
    assert [s["state"] for s in stored["projection"]] == ["planned"] * 3
    assert {"step", "date", "te_before", "te_after", "turnover", "est_tax", "within_budget", "te_note",
            "orders", "state", "proposal"} <= set(stored["projection"][0])  # fmt: skip

    code, out = run(capsys, *db, "rebalance", "transition", "list", "--json")
    assert code == 0 and [p["id"] for p in json.loads(out)["transitions"]] == [stored["id"]]
    code, out = run(capsys, *db, "rebalance", "transition", "show", str(stored["id"]), "--json")
    assert code == 0 and json.loads(out)["projection"] == stored["projection"]

    code, out = run(
        capsys, *db, "rebalance", "transition", "step", str(stored["id"]), "--user", "pat.pm", "--json"
    )
    assert code == 0
    step = json.loads(out)
    assert (step["plan"], step["step"], step["state"]) == (stored["id"], 1, "proposed")
    assert step["record"]["turnover"] <= 0.3 + 1e-9 and step["record"]["est_tax"] <= 5000.01
    assert run(capsys, *db, "rebalance", "transition", "step", str(stored["id"]), "--user", "pat.pm")[0] == 2

    code, out = run(capsys, *db, "rebalance", "exceptions", "--all", "--json")
    assert code == 0 and json.loads(out) == {"exceptions": []}  # a 1M account is under the 10M limit
    code, out = run(capsys, *db, "rebalance", "accept", str(step["proposal"]), "--user", "pat.pm", "--json")
    assert code == 0 and json.loads(out)["proposals"] == [{"id": step["proposal"], "status": "accepted"}]
