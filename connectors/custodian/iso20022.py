"""ISO 20022 statements: semt.002 (custody holdings) and camt.053 (cash), any version we read.

The version is detected from the Document's namespace (connectors.custodian.iso_versions); a
namespace we do not read is one clear problem naming it. The document is parsed with lxml
(libxml2: each element keeps its source line). camt.053 is then validated against ISO's own schema
of that version; semt.002, whose schemas no reachable registry ships, is checked element by element
while it is read (V03 on in one lean pass into columns, connectors.custodian.semt002fast; any
problem, and V02, by the reference reader connectors.custodian.semt002). Any problem refuses the whole file with the element's line and path. Safekeeping
and cash account ids are mapped to ours through the custodian's profile.
"""

from __future__ import annotations

from pathlib import Path

from connectors.custodian.camt053 import read_camt053
from connectors.custodian.iso_versions import VERSIONS, MessageVersion, detect
from connectors.custodian.profile import Profile
from connectors.custodian.semt002 import read_semt002
from connectors.custodian.semt002fast import read_semt002_columns
from connectors.custodian.xmltree import Tree, validate
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import ParsedStatement


def message_version(tree: Tree) -> MessageVersion:
    """The version of a parsed document, or ImportValidationError naming its namespace."""
    version = detect(tree.source, tree.namespace, tree.line(tree.root))
    if tree.root_name != "Document":
        raise ImportValidationError(
            tree.source,
            [
                Problem(
                    tree.line(tree.root),
                    tree.root_name,
                    f"the root element is {tree.root_name!r}, not Document",
                )
            ],
        )
    return version


def read_iso_statement(path: Path, profile: Profile, data: bytes | None = None) -> ParsedStatement:
    """Parse a semt.002 or camt.053 file for `profile.name`; refuses it whole on any problem."""
    tree = Tree(path.name, data if data is not None else path.read_bytes())
    version = message_version(tree)
    if version.schema is not None:
        validate(tree, version.schema, version.name)
    if version.message == "semt.002":
        return read_semt002_columns(tree, version, profile) or read_semt002(tree, version, profile)
    return read_camt053(tree, version, profile)


__all__ = ["VERSIONS", "message_version", "read_iso_statement"]
