"""Regression: views reuse one role-data span from cell to cell; a role the model leaves unset
kept the previous cell's gain/loss colour, so whole rows turned red or green."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan, Qt

from widgets.columns import Column
from widgets.table_model import FrameTableModel


def test_an_unsigned_cell_does_not_inherit_the_previous_cells_colour(qapp) -> None:  # type: ignore[no-untyped-def]
    model = FrameTableModel(
        [Column("name", "Name"), Column("diff", "Difference", "qty", signed=True)], key="name"
    )
    model.set_frame(pd.DataFrame({"name": ["a", "b"], "diff": [-7.0, 3.0]}))
    fg = QModelRoleData(int(Qt.ItemDataRole.ForegroundRole))
    span = QModelRoleDataSpan(fg)
    model.multiData(model.index(0, 1), span)
    assert fg.data() == model.updown.down  # a loss: coloured
    model.multiData(model.index(0, 0), span)  # the same span reused for a text cell
    assert fg.data() is None
    model.multiData(model.index(1, 1), span)
    assert fg.data() == model.updown.up
    bg = QModelRoleData(int(Qt.ItemDataRole.BackgroundRole))
    bg.setData(model.updown.up)  # left over from another model's cell
    model.multiData(model.index(1, 0), QModelRoleDataSpan(bg))
    assert bg.data() is None


def test_blotter_cells_do_not_inherit_the_previous_cells_colour(qapp) -> None:  # type: ignore[no-untyped-def]
    from widgets.blotter import Blotter

    b = Blotter([Column("name", "Name"), Column("diff", "Difference", "qty", signed=True)], "name", "", [])
    b.model.set_frame(pd.DataFrame({"name": ["a"], "diff": [-7.0]}))
    fg = QModelRoleData(int(Qt.ItemDataRole.ForegroundRole))
    span = QModelRoleDataSpan(fg)
    b.model.multiData(b.model.index(0, 1), span)
    assert fg.data() is not None
    b.model.multiData(b.model.index(0, 0), span)
    assert fg.data() is None


def test_a_percentage_that_reads_zero_is_neither_negative_nor_coloured(qapp) -> None:  # type: ignore[no-untyped-def]
    """The Compare dock showed "-0.00%" in red for a change of -0.00001%: the text is rounded first
    and the colour follows what the cell shows, not the raw float."""
    model = FrameTableModel([Column("name", "Name"), Column("d", "Change", "drift", signed=True)], key="name")
    model.set_frame(pd.DataFrame({"name": ["a", "b"], "d": [-1e-7, -0.00006]}))
    display = Qt.ItemDataRole.DisplayRole
    fg = Qt.ItemDataRole.ForegroundRole
    assert model.data(model.index(0, 1), display) == "+0.00%"
    assert model.data(model.index(0, 1), fg) is None
    assert model.data(model.index(1, 1), display) == "-0.01%"  # rounds to a visible loss: coloured
    assert model.data(model.index(1, 1), fg) == model.updown.down
    role = QModelRoleData(int(fg))
    model.multiData(model.index(0, 1), QModelRoleDataSpan(role))
    assert role.data() is None


def test_blotter_cells_that_read_zero_are_not_coloured(qapp) -> None:  # type: ignore[no-untyped-def]
    """The Blotter's own row cache coloured by the raw float too: the Compare dock showed "+0.00%"
    in red for -0.00001 and a tax difference of -0.001 USD ("0.00") in red."""
    from widgets.blotter import Blotter

    b = Blotter(
        [
            Column("name", "Name"),
            Column("d", "Drift B-A", "drift", signed=True),
            Column("tax", "Tax B-A", "money", "ccy", signed=True),
            Column("ccy", "Ccy"),
        ],
        "name",
        "",
        [],
    )
    b.model.set_frame(
        pd.DataFrame(
            {"name": ["a", "b"], "d": [-1e-7, -0.0002], "tax": [-0.001, -0.4], "ccy": ["USD", "JPY"]}
        )
    )
    fg, display = Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.DisplayRole
    m = b.model
    assert [m.data(m.index(0, c), display) for c in (1, 2)] == ["+0.00%", "0.00 USD"]
    assert m.data(m.index(0, 1), fg) is None and m.data(m.index(0, 2), fg) is None
    assert m.data(m.index(1, 1), display) == "-0.02%" and m.data(m.index(1, 1), fg) == m.updown.down
    assert m.data(m.index(1, 2), display) == "0 JPY" and m.data(m.index(1, 2), fg) is None  # yen: no decimals
