"""Read a custodian's activity file, whatever its format: `read_activity_file`.

The format is detected from the bytes: XML is ISO 20022 (camt.053 only: its version from the
namespace, one clear error for a version or message we do not read), anything else CSV, in the
custodian's own layout when its profile's [activity] section says `profile-csv`, else the generic
layout (docs/reconcile.md). The result carries the file's name and SHA-256 for
engine.activity.load.book_activity_file.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from connectors.custodian.activity_camt053 import read_camt053_activity
from connectors.custodian.activity_csv import read_activity_csv
from connectors.custodian.activity_profile import ActivityLayout, activity_layout
from connectors.custodian.iso20022 import message_version
from connectors.custodian.profile import Profile, profile_for
from connectors.custodian.xmltree import Tree, validate
from engine.activity.rows import ParsedActivity
from engine.errors import ImportValidationError, Problem


def read_activity_file(path: Path, custodian: str, profile: Profile | None = None) -> ParsedActivity:
    """Parse one activity file for `custodian` (profile: resources/custodian/<name>.toml, else
    generic); ImportValidationError refuses it whole, naming row, field and reason."""
    prof = profile or profile_for(custodian)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportValidationError(
            path.name, [Problem(1, "(file)", f"cannot read: {exc.strerror}")]
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    layout = activity_layout(prof)
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:200]
    if head.startswith(b"<"):
        tree = Tree(path.name, data)
        version = message_version(tree)
        if version.message != "camt.053":
            raise ImportValidationError(
                path.name,
                [Problem(1, "Document/@xmlns", f"{version.name} is a holdings statement, not activity: "
                         "load it with `workstation reconcile load`; activity comes as camt.053 or CSV")],
            )  # fmt: skip
        if version.schema is not None:
            validate(tree, version.schema, version.name)
        parsed = read_camt053_activity(tree, version, prof, layout)
    else:
        if layout.format != "profile-csv":
            layout = replace(ActivityLayout(), camt053_codes=layout.camt053_codes)
        parsed = read_activity_csv(path.name, data, prof, layout)
    return replace(parsed, custodian=prof.name, source_name=path.name, content_hash=digest)
