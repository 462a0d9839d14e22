"""Check digits of security identifiers: ISIN (ISO 6166), CUSIP and SEDOL.

Used to validate imports and to build consistent identifiers for the simulated demo book.
"""

from __future__ import annotations

import string

_ALNUM = string.digits + string.ascii_uppercase


def _char_value(c: str) -> int:
    return _ALNUM.index(c)


def isin_check_digit(body: str) -> str:
    """Check digit for the first 11 characters of an ISIN (Luhn over letters expanded)."""
    digits = "".join(str(_char_value(c)) for c in body.upper())
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_isin(value: str) -> bool:
    return (
        len(value) == 12
        and value[:2].isalpha()
        and value[:2].isupper()
        and all(c in _ALNUM for c in value)
        and value[-1].isdigit()
        and isin_check_digit(value[:11]) == value[-1]
    )


def cusip_check_digit(body: str) -> str:
    """Check digit for the first 8 characters of a CUSIP."""
    total = 0
    for i, c in enumerate(body.upper()):
        if c.isdigit():
            v = int(c)
        elif c.isalpha():
            v = ord(c) - ord("A") + 10
        else:
            v = {"*": 36, "@": 37, "#": 38}[c]
        if i % 2 == 1:
            v *= 2
        total += v // 10 + v % 10
    return str((10 - total % 10) % 10)


def is_valid_cusip(value: str) -> bool:
    try:
        return len(value) == 9 and value[-1].isdigit() and cusip_check_digit(value[:8]) == value[-1]
    except (KeyError, ValueError):
        return False


_SEDOL_WEIGHTS = (1, 3, 1, 7, 3, 9)


def sedol_check_digit(body: str) -> str:
    """Check digit for the first 6 characters of a SEDOL (no vowels allowed)."""
    total = sum(_char_value(c) * w for c, w in zip(body.upper(), _SEDOL_WEIGHTS))
    return str((10 - total % 10) % 10)


def is_valid_sedol(value: str) -> bool:
    return (
        len(value) == 7
        and all(c in _ALNUM and c not in "AEIOU" for c in value.upper())
        and value[-1].isdigit()
        and sedol_check_digit(value[:6]) == value[-1]
    )
