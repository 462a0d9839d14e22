"""Row positions of many ids in a small id table: a dense gather where ids are small integers.

Binary search (np.searchsorted) of a million lot ids into ten thousand accounts costs ~0.15 s a
call; database ids are dense small integers, so a table indexed by id answers with one gather.
"""

from __future__ import annotations

import numpy as np

DENSE_LIMIT = 50_000_000  # largest id for which a dense position table (8 bytes per id) is used


def positions(table_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Index into `table_ids` of each of `ids` (-1 where absent)."""
    table_ids = np.asarray(table_ids, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    if len(table_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    top = int(max(table_ids.max(), ids.max() if len(ids) else 0))
    if table_ids.min() >= 0 and (len(ids) == 0 or ids.min() >= 0) and top < DENSE_LIMIT:
        where = np.full(top + 1, -1, dtype=np.int64)
        where[table_ids] = np.arange(len(table_ids), dtype=np.int64)
        return where[ids]
    order = np.argsort(table_ids)
    pos = np.clip(np.searchsorted(table_ids[order], ids), 0, len(table_ids) - 1)
    found = table_ids[order][pos] == ids
    return np.where(found, order[pos], -1)
