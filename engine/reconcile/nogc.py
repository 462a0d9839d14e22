"""Pause Python's cyclic garbage collector around a bulk read or write.

Reading a million statement lines creates millions of short-lived lists and strings; each time
the young generation fills, the collector walks every live container (all the cells already
read), which took about half of a large file's parse time. Nothing built here forms reference
cycles, so reference counting frees it all; the collector is switched back on afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (restored as it was, even on an error)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
