"""Import one CSV file of one kind: validate it all, then write it all in one transaction, or nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.audit.chain import record
from engine.errors import ImportValidationError, NotFound, Problem, WorkstationError
from engine.events import BookChanged, EventBus
from engine.imports import accounts, cash, fx, fx_ecb, lots, models, prices, prices_eod, securities
from engine.imports.access import Actor, authorize
from engine.imports.csvread import read_csv
from engine.imports.kind import AnyKind, Counts
from engine.store.database import Database

KINDS: dict[str, AnyKind] = {
    k.name: k
    for k in (
        securities.KIND,
        models.KIND,
        accounts.KIND,
        fx.KIND,
        fx_ecb.KIND,
        prices.KIND,
        prices_eod.KIND,
        lots.KIND,
        cash.KIND,
    )
}
"""Every importable kind, in the order a new book is loaded (each may refer to those before it)."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did: data rows read, and how many were inserted, updated or left unchanged.

    `removed` counts model components dropped because a models file no longer lists them.
    """

    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    removed: int = 0
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    """What a kind adds (fx-ecb: format, skipped, first_date, ...); empty for the CSV kinds."""

    def summary(self, source: str) -> str:
        """The one line the CLI prints, e.g. `securities.csv: 412 rows, 400 inserted, ...`."""
        line = (
            f"{source}: {self.rows} rows, {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        line += f", {self.removed} removed" if self.removed else ""
        if self.details.get("skipped"):
            line += f", {self.details['skipped']} skipped ({self.details.get('skipped_reason', '')})"
        return line + (f" [{self.details['format']}]" if "format" in self.details else "")

    def as_dict(self) -> dict[str, Any]:
        """The --json object: kind, rows, inserted, updated, unchanged, removed, then any details."""
        out = asdict(self)
        return {**{k: v for k, v in out.items() if k != "details"}, **self.details}


class ImportFailed(WorkstationError):
    """The store refused a write after validation passed; the transaction was rolled back."""


def import_file(
    database: Database,
    kind: str,
    path: Path | str,
    bus: EventBus | None = None,
    username: str | None = None,
) -> ImportResult:
    """Import `path` as `kind` as `username`. Raises ImportValidationError listing every problem,
    or PermissionDenied (audited) when the user may not import this kind; writes nothing then.

    A book with users needs `username` (engine.imports.access); a book without users takes None.
    The import is audited (`import.<kind>`: who, the file name, the counts) in its transaction.
    """
    path = Path(path)
    try:
        with database.transaction() as session:
            result = import_into(session, kind, path, username)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ImportFailed(
            f"{path.name}: the database refused the import; nothing was written ({reason})"
        ) from exc
    if bus is not None and (result.inserted or result.updated or result.removed):
        bus.publish(BookChanged(kind=kind, rows=result.rows))
    return result


def import_into(session: Session, kind: str, path: Path | str, username: str | None = None) -> ImportResult:
    """`import_file` in the caller's transaction (the day cycle loads its inbox this way): checks
    the user, reads and checks every row, then writes and audits; ImportValidationError (every
    problem, nothing written) or PermissionDenied otherwise."""
    if kind not in KINDS:
        raise NotFound(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    table = spec.read(path) if spec.read is not None else read_csv(path, spec.required, spec.optional)
    problems: list[Problem] = list(table.problems)
    if kind == "fx" and getattr(table, "columns", ())[:1] == ("date",):
        problems.append(Problem(1, "(file)", "this looks like the ECB's own rate file: import it as fx-ecb"))
    actor = authorize(session, username, kind)
    plan = spec.check(session, table, problems)
    if problems:
        raise ImportValidationError(table.source, problems)
    counts = spec.write_as(session, plan, actor) if spec.write_as else spec.write(session, plan)
    _audit(session, actor, kind, table.source, len(table.rows), counts)
    return ImportResult(
        kind,
        len(table.rows),
        counts.inserted,
        counts.updated,
        counts.unchanged,
        counts.removed,
        counts.details,
    )


def _audit(session: Session, actor: Actor, kind: str, source: str, rows: int, counts: Counts) -> None:
    """One audit entry per import that changed the book (an unchanged re-import records nothing)."""
    if not (counts.inserted or counts.updated or counts.removed):
        return
    counted = {k: v for k, v in asdict(counts).items() if k != "details"}
    after = {"rows": rows, **counted, **counts.details, "checked": actor.checked}
    record(session, actor.username, f"import.{kind}", "import", source, None, after, f"{kind} import")
