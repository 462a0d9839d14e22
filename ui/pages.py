"""Memory pages for the desk's big numpy arrays: ordinary 4 KiB pages, not transparent huge pages.

numpy asks the kernel for huge pages (madvise) on every array of 4 MiB or more. Where the kernel
grants them on request (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, the common
default), each first touch of a 2 MiB page zeroes it and may compact memory first: valuing the
fresh 10,000-account book (arrays of 1.35M lots, made once) spent ~1.0 s of system CPU in those
faults against ~0.2 s with small pages, with the same user CPU (benchmarks/book_load.py). The
arrays are made, read once or twice and freed, so huge pages buy nothing back in TLB misses.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def use_small_pages() -> bool:
    """Stop numpy asking for huge pages in this process; False where this numpy has no switch."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(switch, "_set_madvise_hugepage", None)
    if setter is None:
        log.info("numpy %s has no huge-page switch: arrays keep numpy's default", np.__version__)
        return False
    setter(False)
    return True
