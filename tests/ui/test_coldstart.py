"""Cold start: the shell paints before the engine is imported, the thread really imports the
modules, the GUI thread keeps turning meanwhile, and an import error surfaces on the GUI thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ui.coldstart import BACKGROUND, preload, show_shell


def test_shell_paints_before_pandas_and_sqlalchemy_are_imported() -> None:
    """In a fresh interpreter: after show_shell, none of the heavy modules is loaded yet."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        from ui.coldstart import preload, show_shell
        app = QApplication([])
        shell, _ = show_shell(app)
        assert shell.isVisible()
        before = sorted(m for m in ("pandas", "sqlalchemy", "engine.store.database", "pyqtgraph") if m in sys.modules)
        preload(app, shell, gui_modules=("pyqtgraph",))
        after = sorted(m for m in ("pandas", "sqlalchemy", "engine.store.database", "pyqtgraph") if m in sys.modules)
        print(before, after, shell.bar.value())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=".")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "[] ['engine.store.database', 'pandas', 'pyqtgraph', 'sqlalchemy'] 80"
    )


def test_gui_thread_turns_while_modules_import(qapp) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    shell, _ = show_shell(qapp)
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    # Already-imported modules return at once; a slow one shows the loop keeps running meanwhile.
    sys.modules.pop("tests.ui._slow_module", None)
    preload(qapp, shell, modules=(*BACKGROUND[:3], "tests.ui._slow_module"), gui_modules=())
    timer.stop()
    assert "tests.ui._slow_module" in sys.modules
    assert len(ticks) >= 5  # the event loop ran while the thread slept in the import
    with pytest.raises(ModuleNotFoundError, match="no_such_module_xyz"):
        preload(qapp, shell, modules=("no_such_module_xyz",), gui_modules=())
    shell.close()
