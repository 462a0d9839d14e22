"""Split a plain CSV text (no quotes, carriage returns or NULs; every data line with the header's
number of fields) into columns with pandas' C tokenizer: object arrays of the cells as they are
written, without a Python list per line or per column.

Only used where the tokenizer and `str.split` agree by construction: quoting off, no NA
conversion, no stripping, no comments or escapes, a one-character ASCII delimiter, and every line
already counted regular (csvrows.Rows). Anything else returns None and the caller splits in Python.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd

_NOT_DELIMITERS = frozenset('\n\r"\0 \\#')


def split_columns(text: str, delimiter: str, width: int, records: int) -> list[Any] | None:
    """The `width` columns (object arrays of str) of the `records` lines after the header, or None
    when the tokenizer's reading could differ from `line.split(delimiter)`."""
    if width < 2 or len(delimiter) != 1 or not delimiter.isascii() or delimiter in _NOT_DELIMITERS:
        return None
    frame = pd.read_csv(
        io.BytesIO(text.encode("utf-8")),
        encoding="utf-8",
        sep=delimiter,
        header=None,
        skiprows=1,
        names=list(range(width)),
        index_col=False,
        dtype=str,
        na_filter=False,
        keep_default_na=False,
        quoting=csv.QUOTE_NONE,
        doublequote=False,
        escapechar=None,
        comment=None,
        skip_blank_lines=False,
        skipinitialspace=False,
        engine="c",
        low_memory=False,
    )
    if frame.shape != (records, width):
        return None
    return [frame[i].to_numpy(dtype=object, copy=False) for i in range(width)]
