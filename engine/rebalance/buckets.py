"""Padding sizes of the compiled account problem and the relaxed band, without cvxpy: `prepare`
(on the desktop's start path through drift) needs them, and importing cvxpy costs ~0.85 s."""

from __future__ import annotations

import numpy as np

SIZE_BUCKETS = (32, 64, 96, 128, 160, 192, 256, 320, 400, 480)
# Slot 0 always spans every security (most are held); later slots are few and coarse buckets
# keep the number of compiled shapes per worker small (each compile costs about 0.2-0.5 s).
SLOT_BUCKETS = (0, 8, 32, 64, 128, 192, 256, 320, 400, 480)
GROUP_BUCKETS = (16, 32, 64, 128)
RELAXED_BAND = 10.0


def bucket(x: int, buckets: tuple[int, ...]) -> int:
    """The first bucket that holds x, or the next multiple of the largest."""
    for b in buckets:
        if x <= b:
            return b
    return int(np.ceil(x / buckets[-1]) * buckets[-1])
