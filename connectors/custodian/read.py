"""Pick the reader for a custodian file: ISO 20022 XML by its namespace, else CSV by the profile."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from connectors.custodian.csvfile import read_csv_statement
from connectors.custodian.iso20022 import read_iso_statement
from connectors.custodian.profile import Profile, generic_profile
from engine.errors import ImportValidationError, Problem
from engine.reconcile.nogc import gc_paused
from engine.reconcile.statement import ParsedStatement


@dataclass(frozen=True)
class StatementFile:
    """A parsed file with its name and SHA-256 (the identity that makes loading idempotent)."""

    name: str
    sha256: str
    statement: ParsedStatement


def read_statement(path: Path, profile: Profile) -> StatementFile:
    """Read one file for the profile's custodian; ImportValidationError refuses it whole."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportValidationError(
            path.name, [Problem(1, "(file)", f"cannot read: {exc.strerror}")]
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:200]  # a UTF-8 byte-order mark is fine
    with gc_paused():
        if head.startswith(b"<?xml") or head.startswith(b"<"):
            parsed = read_iso_statement(path, profile, data)
        elif profile.format == "iso20022":
            # An ISO custodian may still send the generic CSV.
            generic = replace(profile, format="generic-csv", csv=generic_profile(profile.name).csv)
            parsed = read_csv_statement(path, generic, data)
        else:
            parsed = read_csv_statement(path, profile, data)
    return StatementFile(name=path.name, sha256=digest, statement=parsed)
