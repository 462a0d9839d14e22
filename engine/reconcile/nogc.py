"""Pause Python's cyclic garbage collector around a bulk read or write.

Reading a million statement lines creates millions of short-lived lists and strings; each time
the young generation fills, the collector walks every live container (all the cells already
read), which took about half of a large file's parse time. Nothing built here forms reference
cycles, so reference counting frees it all; the collector is switched back on afterwards.

The pause is counted: two threads that each pause it (a desktop worker loading while another
reads) keep the collector off until the last of them is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (restored as it was when the outermost
    pause of any thread ends, even on an error)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
