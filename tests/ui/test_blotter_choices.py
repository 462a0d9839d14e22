"""A blotter's filter choices (issue 18: nothing per second on the GUI thread that scales with the
rows for nothing): built from the values present, rebuilt only when the rows changed."""

from __future__ import annotations

import pandas as pd
import pytest

from widgets import blotter as blotter_module
from widgets.blotter import Blotter
from widgets.columns import Column


def choices(b: Blotter, key: str) -> list[str]:
    combo = b.combos[key]
    return [combo.itemText(i) for i in range(combo.count())]


def test_choices_follow_the_rows_and_are_not_rebuilt_when_nothing_changed(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    b = Blotter(
        [Column("id", "Id", "int"), Column("status", "Status", "words"), Column("broker", "Broker", "text")],
        "id",
        "nothing",
        [("status", "Status"), ("broker", "Broker")],
    )
    qtbot.addWidget(b)
    statuses = ["working", "held", None, "working", "filled", float("nan")]
    b.model.set_frame(
        pd.DataFrame({"id": range(6), "status": statuses, "broker": ["B", "A", "B", "", "A", "B"]})
    )
    b.refresh_choices()
    want = sorted({s for s in statuses if isinstance(s, str)})  # missing values offer no choice
    assert choices(b, "status") == ["All", *want]
    assert choices(b, "broker") == ["All", "A", "B"]
    uniques = 0
    real = blotter_module.pd.unique

    def counted(values):  # type: ignore[no-untyped-def]
        nonlocal uniques
        uniques += 1
        return real(values)

    monkeypatch.setattr(blotter_module.pd, "unique", counted)
    b.combos["status"].setCurrentText("held")
    b.refresh_choices()  # the once-a-second look: nothing changed, nothing recomputed
    assert uniques == 0 and b.combos["status"].currentText() == "held"
    b.model.upsert(pd.DataFrame({"id": [1, 9], "status": ["cancelled", "new"], "broker": ["C", "A"]}))
    b.model.flush()
    b.refresh_choices()
    assert uniques == 2
    # row 1 was the only "held": that choice goes, and the filter falls back to All
    assert choices(b, "status") == ["All", "cancelled", "filled", "new", "working"]
    assert choices(b, "broker") == ["All", "A", "B", "C"]
    assert b.combos["status"].currentText() == "All"
