"""pandas' C tokenizer splits a plain, regular CSV exactly as `str.split` does (cells kept as
written: no NA values, no stripping, no comments, quotes or escapes), and declines what it could
read otherwise."""

from __future__ import annotations

import random

import pytest

from connectors.custodian.csvcolumns import split_columns
from connectors.custodian.csvrows import Rows

ODD = ["", " ", "NA", "NULL", "NaN", "N/A", "#N/A", "-nan", "None", "True", "1e3", "007", " 5 ", "#x",
       "\\", "'q'", "é€ü", "\u2028", "\x0b", "\x0c", "\x1a", "\x85", "-1.234,5", "(12)"]  # fmt: skip


def _text(delimiter: str, width: int, rng: random.Random, rows: int) -> tuple[str, list[list[str]]]:
    lines = [delimiter.join(f"h{i}" for i in range(width))]
    body = []
    for _ in range(rows):
        cells = [
            "".join(rng.choice(ODD) for _ in range(rng.randint(0, 2))).replace(delimiter, "")
            for _ in range(width)
        ]
        body.append(cells)
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + rng.choice(["", "\n"]), body


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
def test_cells_are_the_split_cells(delimiter: str) -> None:
    rng = random.Random(7)
    compared = 0
    for _ in range(300):
        width, rows = rng.randint(2, 6), rng.randint(1, 8)
        text, body = _text(delimiter, width, rng, rows)
        if any(not delimiter.join(r) for r in body):
            continue  # a blank line is irregular: never given to the tokenizer
        got = split_columns(text, delimiter, width, rows)
        assert got is not None
        assert [list(c) for c in got] == [[r[i] for r in body] for i in range(width)]
        assert Rows(text, delimiter).body() == body  # and the row reader reads the same records
        compared += 1
    assert compared > 250


def test_declines_what_the_tokenizer_could_read_otherwise() -> None:
    assert split_columns("a b\n1 2\n", " ", 2, 1) is None  # a blank as delimiter
    assert split_columns("a\n1\n", ",", 1, 1) is None  # one column
    assert split_columns("a,b\n1,2\n", ",", 2, 2) is None  # not the record count given


def test_rows_uses_the_tokenizer_only_for_regular_files() -> None:
    regular = Rows("a;b\n1;2\nNA;\n", ";")
    cells, irregular = regular.columns(2)
    assert [list(c) for c in cells] == [["1", "NA"], ["2", ""]] and not irregular.any()
    ragged = Rows("a;b\n1;2\n3\n\n4;5\n", ";")
    cells, irregular = ragged.columns(2)
    assert irregular.tolist() == [False, True, True, False]
    assert [list(c) for c in cells] == [["1", "", "", "4"], ["2", "", "", "5"]]
    assert len(ragged) == 5 and ragged.row(0) == ["a", "b"] and ragged.row(2) == ["3"]
