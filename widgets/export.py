"""Copy and export of table models: tab-separated text for Excel, CSV and XLSX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import QModelIndex

from widgets.table_model import RAW_ROLE, FrameTableModel


def _plain(value: object) -> str:
    """A cell as Excel reads it: numbers without separators or currency, blanks for missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value).replace("\t", " ").replace("\n", " ")


def selection_tsv(model: FrameTableModel, indexes: list[QModelIndex], header: bool = True) -> str:
    """The selected cells as a rectangle of tab-separated lines (raw numbers, header first)."""
    if not indexes:
        return ""
    rows = sorted({i.row() for i in indexes})
    cols = sorted({i.column() for i in indexes})
    chosen = {(i.row(), i.column()) for i in indexes}
    lines = []
    if header:
        lines.append("\t".join(model.columns[c].title for c in cols))
    for r in rows:
        cells = [_plain(model.data(model.index(r, c), RAW_ROLE)) if (r, c) in chosen else "" for c in cols]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [
                v.replace(tzinfo=None) if hasattr(v, "tzinfo") and getattr(v, "tzinfo", None) else v
                for v in out[col]
            ]
    return out


def export_frame(model: FrameTableModel, path: Path, keys: list[str] | None = None) -> int:
    """Write the visible rows (of the columns `keys`, default all) to `path` (.csv or .xlsx by
    suffix); returns rows written."""
    frame = model.visible_frame(raw=True, keys=keys)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".xlsx":
        _excel_safe(frame).to_excel(path, index=False, engine="openpyxl")
    else:
        raise ValueError(f"{path.name}: export to .csv or .xlsx")
    return len(frame)
