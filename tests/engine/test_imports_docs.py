"""The example file of every kind in docs/imports.md imports cleanly, in the documented order."""

from __future__ import annotations

import re
from pathlib import Path

from engine.imports.service import KINDS, import_file
from engine.store.database import Database

DOC = Path(__file__).resolve().parents[2] / "docs" / "imports.md"


def examples() -> dict[str, str]:
    """The first ```csv block under each `## kind` heading."""
    found: dict[str, str] = {}
    for section in re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        block = re.search(r"```csv\n(.*?)```", body, re.S)
        if block:
            found[title.strip()] = block.group(1)
    return found


def test_every_kind_has_a_documented_example_that_imports(database: Database, tmp_path: Path) -> None:
    files = examples()
    assert set(files) == set(KINDS)
    for kind in KINDS:
        path = tmp_path / f"{kind}.csv"
        path.write_text(files[kind], encoding="utf-8")
        first = import_file(database, kind, path)
        assert first.inserted == first.rows > 0, kind
        assert import_file(database, kind, path).unchanged == first.rows, kind
