"""Read a model's new weights from CSV: columns `symbol` (or `sub_model`) and `weight` (a fraction)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ImportValidationError, Problem
from engine.imports import parse
from engine.imports.cells import Cells
from engine.imports.csvread import read_csv
from engine.portfolio_models.service import WeightRow


def read_weights(path: Path) -> list[WeightRow]:
    """Every row as a WeightRow; any unreadable cell raises ImportValidationError naming its row."""
    table = read_csv(path, ("weight",), ("symbol", "sub_model"))
    problems: list[Problem] = list(table.problems)
    if not (table.has("symbol") or table.has("sub_model")):
        problems.append(Problem(1, "symbol", "missing column 'symbol' (or 'sub_model')"))
    rows: list[WeightRow] = []
    for row in table.rows:
        cells = Cells(table, row, problems)
        symbol = cells.optional("symbol", parse.text(32))
        sub_model = cells.optional("sub_model", parse.text(32))
        weight = cells.required("weight", parse.decimal)
        if weight is not None:
            rows.append(WeightRow(row.number, weight, symbol=symbol, sub_model=sub_model))
    if problems:
        raise ImportValidationError(table.source, problems)
    return rows
