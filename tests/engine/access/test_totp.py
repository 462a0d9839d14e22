"""RFC 6238 TOTP against the RFC's own Appendix B vectors, and the drift window."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from engine.access.totp import code_at, matching_step, new_secret, otpauth_uri, step_of

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B: (Unix time, SHA1, SHA256, SHA512), eight digits.
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_appendix_b(t: int, sha1: str, sha256: str, sha512: str) -> None:
    at = datetime.fromtimestamp(t, UTC)
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        secret = base64.b32encode(SEEDS[algorithm]).decode()
        assert code_at(secret, at, digits=8, algorithm=algorithm) == expected


def test_the_step_before_and_after_are_accepted_and_no_further() -> None:
    secret = new_secret()
    at = datetime(2026, 12, 7, 9, 0, 10, tzinfo=UTC)
    now = step_of(at)
    assert matching_step(secret, code_at(secret, at), at) == now
    assert matching_step(secret, code_at(secret, at - timedelta(seconds=30)), at) == now - 1
    assert matching_step(secret, code_at(secret, at + timedelta(seconds=30)), at) == now + 1
    for far in (-60, 60, 3600):
        code = code_at(secret, at + timedelta(seconds=far))
        if code not in {code_at(secret, at + timedelta(seconds=d)) for d in (-30, 0, 30)}:
            assert matching_step(secret, code, at) is None
    assert matching_step(secret, "12345", at) is None and matching_step(secret, "abcdef", at) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        step_of(datetime(2026, 12, 7, 9, 0))


def test_the_otpauth_uri_names_issuer_account_and_secret() -> None:
    secret = new_secret()
    assert len(base64.b32decode(secret)) == 20
    uri = urlparse(otpauth_uri(secret, "cora", "SMA Workstation"))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/SMA%20Workstation:cora")
    q = parse_qs(uri.query)
    assert q["secret"] == [secret] and q["issuer"] == ["SMA Workstation"] and q["digits"] == ["6"]
    assert q["period"] == ["30"] and q["algorithm"] == ["SHA1"]
