"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) on hmac and hashlib.

Pure functions of a secret and an instant, so tests pass the time in. Checked against the RFC's
own Appendix B vectors (SHA1, SHA256, SHA512, eight digits) in tests/engine/access/test_totp.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
"""Codes of the step before and after the current one are accepted too (clock drift)."""
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def new_secret() -> str:
    """A fresh 160-bit secret in base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    s = secret.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def step_of(at: datetime, step_seconds: int = STEP_SECONDS) -> int:
    """The RFC 6238 time step T of an aware instant (seconds since the Unix epoch // X)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: times must carry a time zone")
    return int(at.timestamp()) // step_seconds


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """RFC 4226: the `digits`-digit code of `counter` under `key` (dynamic truncation)."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def code_at(secret: str, at: datetime, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """The code an authenticator app shows at instant `at` for a base32 `secret`."""
    return hotp(_key(secret), step_of(at), digits, algorithm)


def matching_step(secret: str, code: str, at: datetime, drift: int = DRIFT_STEPS) -> int | None:
    """The time step (within ±drift of `at`) whose code equals `code`, else None.

    Every candidate is compared in constant time, so timing tells nothing about near misses.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key, now = _key(secret), step_of(at)
    found = None
    for step in range(now - drift, now + drift + 1):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    return found


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans (Key Uri Format: label issuer:account)."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
