"""Layer boundaries hold: the engine runs headless, and the import-linter contracts pass."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "qtawesome", "quickfix", "keyring")


def test_engine_imports_no_qt_quickfix_or_keyring() -> None:
    """Import every engine module in a fresh interpreter and look at what got loaded."""
    modules = [
        m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if ".migrations" not in m.name
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert len(modules) > 20
    assert out.stdout.strip() == "", f"engine loaded {out.stdout.strip()}"


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the dev extra"
    env = dict(os.environ)
    out = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout
