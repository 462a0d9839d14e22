"""Parse an XML statement safely with lxml and validate it against an XSD, as row/path/reason problems.

libxml2 parses and validates in C and records each element's source line, so a 49 MB file takes
seconds, and every problem names the line and the element's path (local names, no namespaces).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from engine.errors import ImportValidationError, Problem

MAX_PROBLEMS = 50
_NS_IN_TEXT = re.compile(r"\{[^}]*\}")
_ELEMENT_IN_TEXT = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a statement is data, never instructions to fetch anything.
    return etree.XMLParser(
        huge_tree=True, resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )


class Tree:
    """A parsed document; `line(elem)` is the element's source line (libxml2 records it)."""

    def __init__(self, source: str, data: bytes) -> None:
        self.source = source
        try:
            self.root: Any = etree.fromstring(data, _parser())
        except etree.XMLSyntaxError as exc:
            reason = _NS_IN_TEXT.sub("", exc.msg or "syntax error")
            raise ImportValidationError(
                source, [Problem(exc.lineno or 1, "(xml)", f"not well-formed XML: {reason}")]
            ) from None
        info = self.root.getroottree().docinfo
        if info.doctype or info.internalDTD is not None:
            # ISO 20022 messages have no DTD; entities would be a way to smuggle content in.
            raise ImportValidationError(
                source, [Problem(1, "(xml)", "a DOCTYPE (DTD or entities) is not accepted in a statement")]
            )

    @property
    def namespace(self) -> str:
        tag = self.root.tag
        return tag[1:].split("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""

    @property
    def root_name(self) -> str:
        return str(etree.QName(self.root).localname)

    @staticmethod
    def line(elem: Any) -> int:
        return int(elem.sourceline or 1) if elem is not None else 1


def local_path(elem: Any) -> str:
    """Document/SctiesBalCtdyRpt/... (local names, no namespaces) for an element."""
    names = [etree.QName(e).localname for e in (elem, *elem.iterancestors())]
    return "/".join(reversed(names))


@lru_cache(maxsize=16)
def schema(path: Path) -> etree.XMLSchema:
    """The compiled schema (compiled once per process: ISO's schemas are 60-110 kB)."""
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def validate(tree: Tree, xsd: Path, label: str) -> None:
    """Refuse the document whole when it breaks the schema: each error with its line and path."""
    compiled = schema(xsd)
    try:
        if compiled.validate(tree.root):
            return
    except etree.XMLSchemaValidateError as exc:
        raise ImportValidationError(
            tree.source, [Problem(1, "(document)", f"cannot be validated: {exc}")]
        ) from None
    errors = list(compiled.error_log)[:MAX_PROBLEMS]
    # The path of each error's element, found by its line and local name (one pass over the tree).
    wanted: dict[tuple[int, str], str | None] = {}
    for err in errors:
        m = _ELEMENT_IN_TEXT.search(err.message or "")
        if m:
            wanted[(err.line, m.group(1))] = None
    if wanted:
        for elem in tree.root.iter():
            if not isinstance(elem.tag, str):
                continue
            key = (elem.sourceline, etree.QName(elem).localname)
            if key in wanted and wanted[key] is None:
                wanted[key] = local_path(elem)
    problems = []
    for err in errors:
        m = _ELEMENT_IN_TEXT.search(err.message or "")
        path = (wanted.get((err.line, m.group(1))) if m else None) or "(document)"
        reason = _NS_IN_TEXT.sub("", err.message or "invalid")
        problems.append(Problem(err.line or 1, path, f"not valid {label}: {reason}"))
    raise ImportValidationError(tree.source, problems)
