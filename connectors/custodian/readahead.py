"""Parse the next custodian file in a reading thread while the caller stores the one before.

Storing a statement spends most of its time inside SQLite's (or libpq's COPY) C code, and lxml
parses and validates XML in C too; both release the GIL, so reading file i+1 in one background
thread while file i is written uses the second core without copying a million lines between
processes. Files are handed over in the order given; a file that is refused raises its
ImportValidationError in the caller when the caller reaches it (inside the caller's transaction,
so an all-or-nothing load still stores nothing). At most one file is read ahead (memory: one
parsed statement beside the one being stored).

Not used by the loaders: on the shared 2-core machine (load 5-16) it measured slower in wall
time than reading and storing file by file, and about 0.5-3 CPU s more (docs/reconcile.md,
"Loading speed"); `benchmarks/statement_load.py` times it so it can be judged on a quiet machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from connectors.custodian.profile import Profile
from connectors.custodian.read import StatementFile, read_statement


def read_ahead(files: Iterable[tuple[Path, Profile]]) -> Iterator[StatementFile]:
    """Each (path, profile) read as `read_statement` reads it, the next one read meanwhile."""
    todo = list(files)
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="statement-read") as pool:
        pending: Future[StatementFile] = pool.submit(read_statement, *todo[0])
        try:
            for nxt in todo[1:]:
                done = pending.result()  # a refused file raises here, in the caller's thread
                pending = pool.submit(read_statement, *nxt)
                yield done
            yield pending.result()
        finally:
            pending.cancel()
