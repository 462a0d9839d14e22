"""Regression test for PySide6 6.12.0's leak of a reference to True on every Signal.emit (DESIGN.md)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    flag = Signal(bool)
    thing = Signal(object)


def test_100k_emits_do_not_leak_references_to_true(qtbot) -> None:  # type: ignore[no-untyped-def]
    e = Emitter()
    got: list[int] = [0]

    def slot(_v: object) -> None:
        got[0] += 1

    e.flag.connect(slot)
    e.thing.connect(slot)
    for _ in range(1000):  # warm up caches
        e.flag.emit(True)
    before = sys.getrefcount(True)
    for _ in range(50_000):
        e.flag.emit(True)
        e.thing.emit(True)
    after = sys.getrefcount(True)
    assert got[0] == 101_000
    assert abs(after - before) < 100, f"refcount of True drifted by {after - before} over 100k emits"
