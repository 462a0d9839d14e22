"""ClOrdIDs: unique across processes and restarts, short enough for any FIX counterparty."""

from __future__ import annotations

import secrets
import time


def new_cl_ord_id(prefix: str = "WS") -> str:
    """`WS-<ms since epoch, base 36>-<8 random hex>`: ordered by time, unique without a counter."""
    ms = int(time.time() * 1000)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while ms:
        ms, r = divmod(ms, 36)
        out = digits[r] + out
    return f"{prefix}-{out}-{secrets.token_hex(4)}"
