"""`workstation db upgrade|info`: migrate the schema and describe the database."""

from __future__ import annotations

import argparse

from sqlalchemy import func, select

from engine.store.database import Database, mask_url
from engine.store.migrate import current_revisions, head_revisions, upgrade
from engine.store.schema import metadata
from workstation.cli.output import print_json, table
from workstation.compose import database_url, seal_clear_secrets, secret_box


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("db", help="database schema and status")
    dsub = p.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="migrate the schema to the newest revision")
    up.set_defaults(func=cmd_upgrade)
    info = dsub.add_parser("info", help="URL (password masked), schema revision and row counts")
    info.add_argument("--json", action="store_true", help="print JSON (shape in docs/cli.md)")
    info.set_defaults(func=cmd_info)


def cmd_upgrade(args: argparse.Namespace) -> int:
    with Database(database_url(args.db), secret_box=secret_box()) as database:
        before = current_revisions(database)
        after = upgrade(database)
        print(f"{mask_url(database.url)}: {','.join(before) or 'empty'} -> {','.join(after)}")
        sealed = seal_clear_secrets(database)
        if sealed:
            print(f"{sealed} second-factor secret(s) stored in clear were sealed with the OS keychain's key")
    return 0


def db_info(database: Database) -> dict[str, object]:
    """The `db info --json` document: url, dialect, revision, heads, up_to_date, tables."""
    revisions = current_revisions(database)
    counts: dict[str, int | None] = {}
    with database.session() as session:
        existing = set(database.engine.dialect.get_table_names(session.connection()))
        for name, tbl in sorted(metadata.tables.items()):
            counts[name] = (
                session.execute(select(func.count()).select_from(tbl)).scalar_one()
                if name in existing
                else None
            )
    heads = head_revisions()
    return {
        "url": mask_url(database.url),
        "dialect": database.dialect,
        "revision": ",".join(revisions) or None,
        "heads": heads,
        "up_to_date": revisions == heads,
        "tables": counts,
    }


def cmd_info(args: argparse.Namespace) -> int:
    with Database(database_url(args.db)) as database:
        info = db_info(database)
    if args.json:
        print_json(info)
        return 0
    print(f"database:  {info['url']}")
    print(
        f"revision:  {info['revision'] or '(empty: run `workstation db upgrade`)'}"
        f"{'' if info['up_to_date'] else '  (not current)'}"
    )
    tables = info["tables"]
    assert isinstance(tables, dict)
    print(
        table(["table", "rows"], [(k, "-" if v is None else f"{v:,}") for k, v in tables.items()], right={1})
    )
    return 0
