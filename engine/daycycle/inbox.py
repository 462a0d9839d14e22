"""The inbox: a folder per custodian and data vendor, each file loaded once by its content.

    INBOX/ecb/          the ECB's published rate files (eurofxref-daily.xml, -hist.zip, -hist.csv)
    INBOX/prices/       end-of-day close files (identifier, id_type, mic, date, close, currency)
    INBOX/corporate/    a data vendor's corporate-action files (engine.corporate's CSV)
    INBOX/<custodian>/  that custodian's statements (semt.002, camt.053, CSV by its profile)
    INBOX/<custodian>/activity/  its daily activity (CSV by its profile, camt.053 cash entries)

Which reader takes a file is decided by one registry, an ordered sequence of `InboxKind`s: the
first whose `matches` accepts the file loads it. The engine supplies the kinds it can read
itself (`engine_kinds`); custodian formats live in connectors, so the composition root
(workstation.compose.inbox_kinds) adds those: adding a kind is one entry there.

Each file is loaded in its own transaction with its `inbox_files` record: a file the reader
refuses (ImportValidationError: row, field, reason; or any other refusal of the file's content)
is rolled back whole, recorded as refused with its problems, and the other files still load. A
file whose bytes were loaded before (SHA-256) is skipped; a refused one is tried again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.daycycle.tables import InboxFile
from engine.errors import ImportValidationError, PermissionDenied, Problem, WorkstationError
from engine.imports.service import import_into
from engine.state.daycycle import INBOX_FILES, LOADED, REFUSED
from engine.store.database import Database

ECB_FOLDER, PRICES_FOLDER, CORPORATE_FOLDER = "ecb", "prices", "corporate"
VENDOR_FOLDERS = frozenset({ECB_FOLDER, PRICES_FOLDER, CORPORATE_FOLDER})
STEP = "load"


@dataclass(frozen=True)
class InboxItem:
    """One file of the inbox: where it is, its path inside the inbox and its SHA-256."""

    path: Path
    name: str
    sha256: str

    @property
    def parts(self) -> tuple[str, ...]:
        return PurePosixPath(self.name).parts

    @property
    def folder(self) -> str:
        """The custodian or vendor folder the file is in."""
        return self.parts[0] if len(self.parts) > 1 else ""


Loader = Callable[[Session, InboxItem, str], dict[str, Any]]
"""Loads one file in the caller's transaction as the user; returns what it brought (counts).
Raises ImportValidationError (or another WorkstationError) to refuse the file whole."""


@dataclass(frozen=True)
class InboxKind:
    """A kind of inbox file: which files it takes, and how it loads one."""

    name: str
    matches: Callable[[InboxItem], bool]
    load: Loader


def in_folder(folder: str) -> Callable[[InboxItem], bool]:
    """Files anywhere under INBOX/<folder>/."""
    return lambda item: item.folder == folder


def custodian_file(item: InboxItem) -> bool:
    """A file directly in INBOX/<custodian>/ or its statements/ folder (not a vendor's folder)."""
    if not item.folder or item.folder in VENDOR_FOLDERS:
        return False
    return len(item.parts) == 2 or (len(item.parts) == 3 and item.parts[1] == "statements")


def custodian_activity_file(item: InboxItem) -> bool:
    """A file in INBOX/<custodian>/activity/: that custodian's daily activity."""
    if not item.folder or item.folder in VENDOR_FOLDERS:
        return False
    return len(item.parts) == 3 and item.parts[1] == "activity"


def _import(kind: str) -> Loader:
    def load(session: Session, item: InboxItem, username: str) -> dict[str, Any]:
        return import_into(session, kind, item.path, username).as_dict()

    return load


def _corporate(session: Session, item: InboxItem, username: str) -> dict[str, Any]:
    """A vendor's corporate-action file: stored as announced, all or nothing (engine.corporate);
    the corporate step books them on their dates."""
    from engine.corporate import csvfile, entry

    rows, problems = csvfile.parse_file(item.path)
    done = entry.load(session, item.name, rows, username=username, problems=problems)
    return {"stored": len(done.stored), "unchanged": len(done.unchanged)}


def engine_kinds() -> list[InboxKind]:
    """The kinds the engine reads itself: ECB rates first (prices may need them), then closes,
    then corporate actions (before the step that books them)."""
    return [
        InboxKind("fx-ecb", in_folder(ECB_FOLDER), _import("fx-ecb")),
        InboxKind("prices-eod", in_folder(PRICES_FOLDER), _import("prices-eod")),
        InboxKind("corporate-actions", in_folder(CORPORATE_FOLDER), _corporate),
    ]


@dataclass
class InboxResult:
    """What a pass over the inbox did: per file, and the refusals as exceptions."""

    files: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        by: dict[str, int] = {}
        for f in self.files:
            by[f["status"]] = by.get(f["status"], 0) + 1
        kinds: dict[str, int] = {}
        for f in self.files:
            if f["status"] == LOADED:
                kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
        return {"files": len(self.files), **{s: by.get(s, 0) for s in (LOADED, REFUSED, "skipped")},
                "loaded_by_kind": kinds}  # fmt: skip


def scan(inbox: Path) -> list[InboxItem]:
    """Every regular file under the inbox (hidden files skipped), by path inside it."""
    if not inbox.is_dir():
        return []
    out = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        rel = path.relative_to(inbox).as_posix()
        if any(part.startswith(".") for part in PurePosixPath(rel).parts):
            continue
        out.append(InboxItem(path, rel, hashlib.sha256(path.read_bytes()).hexdigest()))
    return out


def _problems(exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, ImportValidationError):
        return [{"row": p.row, "field": p.column, "reason": p.reason} for p in exc.problems]
    return [{"row": None, "field": "(file)", "reason": str(exc)}]


def load_inbox(
    database: Database, inbox: Path, kinds: Sequence[InboxKind], day: date, username: str
) -> InboxResult:
    """Load every inbox file not loaded before, kind by kind in registry order (see module)."""
    result = InboxResult()
    items = scan(inbox)
    with database.session() as s:
        known = dict(s.execute(select(InboxFile.sha256, InboxFile.status)).all())
    order = {k.name: i for i, k in enumerate(kinds)}
    planned: list[tuple[int, InboxItem, InboxKind | None]] = []
    for item in items:
        kind = next((k for k in kinds if k.matches(item)), None)
        planned.append((order[kind.name] if kind else len(kinds), item, kind))
    seen: set[str] = set()
    for _, item, kind in sorted(planned, key=lambda x: (x[0], x[1].name)):
        entry: dict[str, Any] = {
            "file": item.name,
            "kind": kind.name if kind else None,
            "sha256": item.sha256,
        }
        if known.get(item.sha256) == LOADED or item.sha256 in seen:
            result.files.append({**entry, "status": "skipped"})
            continue
        seen.add(item.sha256)
        status, counts, errors = _load_one(database, item, kind, day, username, known.get(item.sha256))
        result.files.append({**entry, "status": status, "counts": counts})
        if status == REFUSED:
            result.exceptions.append({"kind": "refused_file", "file": item.name, "problems": errors})
    return result


def _load_one(
    database: Database, item: InboxItem, kind: InboxKind | None, day: date, username: str, before: str | None
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """Load one file with its record in one transaction; a refusal is recorded in another."""
    try:
        if kind is None:
            raise ImportValidationError(
                item.name,
                [Problem(1, "(file)", f"no reader takes files in {item.folder or 'the inbox root'!r}")],
            )
        with database.transaction() as s:
            counts = kind.load(s, item, username)
            _record(s, item, kind.name, day, username, LOADED, _plain(counts), [], before)
        return LOADED, counts, []
    except PermissionDenied:
        raise  # a control refused the action: the step fails, not the file
    except (WorkstationError, OSError, UnicodeDecodeError, ValueError) as exc:
        errors = _problems(exc)
        with database.transaction() as s:
            _record(s, item, kind.name if kind else "unknown", day, username, REFUSED, {}, errors, before)
        return REFUSED, {}, errors


def _plain(counts: dict[str, Any]) -> dict[str, Any]:
    """Counts as JSON data (dates as ISO text)."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in counts.items()}


def _record(
    s: Session,
    item: InboxItem,
    kind: str,
    day: date,
    username: str,
    status: str,
    counts: dict[str, Any],
    errors: list[dict[str, Any]],
    before: str | None,
) -> None:
    detail = {"day": day, "counts": counts, "problems": len(errors)}
    if before is None:
        row = InboxFile(sha256=item.sha256, name=item.name, folder=item.folder or "", kind=kind, step=STEP,
                        day=day, counts=counts, errors=errors)  # fmt: skip
        INBOX_FILES.start(s, row, status, actor=username, event="meet", detail=detail)
        return
    row = s.scalars(select(InboxFile).where(InboxFile.sha256 == item.sha256)).one()
    row.name, row.kind, row.day, row.counts, row.errors = item.name, kind, day, counts, errors
    INBOX_FILES.fire(s, row, "retry", actor=username, detail=detail, facts={"loaded": status == LOADED})
