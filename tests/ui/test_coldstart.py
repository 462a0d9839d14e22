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


def test_the_desk_starts_without_the_optimiser() -> None:
    """cvxpy (and the scipy.stats it pulls in: ~0.85 s) loads with the first rebalance, not with the
    window: the start path's read models use the cvxpy-free pieces (buckets, context)."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from ui.coldstart import BACKGROUND
        for name in BACKGROUND:
            __import__(name)
        import ui.desk, ui.main_window, workstation.compose
        print(sorted(m for m in ("cvxpy", "scipy.stats", "scipy.optimize") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=".")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


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


def test_the_last_books_copy_shows_first_and_the_fresh_book_replaces_it(qtbot, demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The cache is only a head start: a stale copy is shown marked as cached, then the book
    valued from the database replaces it; a broken copy is ignored."""
    from engine.views.users import desk_users
    from ui.desk import BookCache, Desk
    from ui.workers import Jobs

    user = desk_users(demo_db)[0]
    cache = BookCache(tmp_path, "sqlite:///book.db")
    first = Desk(demo_db, user, jobs=Jobs(), book_cache=cache)
    first.load_book()
    qtbot.waitUntil(lambda: first.book is not None and not first.jobs.running, timeout=60_000)
    assert first.book is not None and first.book.cached_at is None  # nothing cached yet
    truth = first.book.accounts.copy()
    stale = cache.load()
    assert stale is not None and stale.cached_at is not None
    assert stale.accounts.equals(truth)
    stale.accounts["name"] = "STALE"  # as if the book changed since the copy was saved
    cache.save(stale)

    second = Desk(demo_db, user, jobs=Jobs(), book_cache=cache)
    shown: list[object] = []
    second.book_ready.connect(shown.append)
    second.load_book()
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=60_000)
    second.jobs.wait()
    cached, fresh = shown
    assert cached.cached_at is not None and set(cached.accounts["name"]) == {"STALE"}  # type: ignore[attr-defined]
    assert fresh.cached_at is None and fresh.accounts.equals(truth)  # type: ignore[attr-defined]
    assert second.book is fresh
    assert cache.load().accounts.equals(truth)  # type: ignore[union-attr]  # the copy is fresh again

    cache.path.write_bytes(b"not a pickle")
    third = Desk(demo_db, user, jobs=Jobs(), book_cache=cache)
    third.load_book()
    qtbot.waitUntil(lambda: third.book is not None and not third.jobs.running, timeout=60_000)
    assert third.book.cached_at is None and third.book.accounts.equals(truth)  # type: ignore[union-attr]
    for desk in (first, second, third):
        desk.close()


def test_freezing_startup_objects_keeps_them_from_the_collector() -> None:
    import gc

    from ui.coldstart import freeze_startup_objects

    try:
        assert freeze_startup_objects() > 1000
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_the_faster_pyside_import_check_gives_the_same_answers() -> None:
    """PySide6 asks of each imported module whether it mentions PySide6: the file-reading check
    answers exactly as the original inspect.getsource one, for every module the desk loads."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        import shibokensupport.feature as feature
        original = feature._mod_uses_pyside
        from ui.coldstart import fast_pyside_import_check
        assert fast_pyside_import_check() and fast_pyside_import_check()
        fast = feature._mod_uses_pyside
        assert fast is not original
        import ui.main_window, workstation.compose
        modules = list(sys.modules.values())
        differ = [m.__name__ for m in modules if fast(m) != original(m)]
        users = sum(bool(fast(m)) for m in modules)
        print(len(modules), users, differ)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=".")
    assert out.returncode == 0, out.stderr[-2000:]
    total, users, differ = out.stdout.strip().splitlines()[-1].split(" ", 2)
    assert int(total) > 500 and int(users) > 20  # real modules on both sides of the question
    assert differ == "[]"
