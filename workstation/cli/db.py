"""`workstation db upgrade|info`: migrate the schema and describe the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from engine.errors import ConfigurationError
from engine.store.database import Database, mask_url, parse_url
from engine.store.encrypt import encrypt_copy
from engine.store.migrate import current_revisions, head_revisions, upgrade
from engine.store.schema import metadata
from workstation.cli.output import print_json, table
from workstation.compose import database_url, seal_clear_secrets, secret_box
from workstation.config import resolve_db_url


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("db", help="database schema and status")
    dsub = p.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="migrate the schema to the newest revision")
    up.set_defaults(func=cmd_upgrade)
    info = dsub.add_parser("info", help="URL (password masked), schema revision and row counts")
    info.add_argument("--json", action="store_true", help="print JSON (shape in docs/cli.md)")
    info.set_defaults(func=cmd_info)
    enc = dsub.add_parser(
        "encrypt",
        help="copy this SQLite book into a new SQLCipher-encrypted file, its key in the OS keychain",
        description="Writes every table of the book (--db, a plain SQLite file) into OUT, encrypted "
        "with a new random key kept in the OS keychain (service workstation-book-key, user OUT's path); "
        "prints the URL to open it with (sqlite+pysqlcipher:///OUT). The plain book is left as it is.",
    )
    enc.add_argument("--out", required=True, type=Path, help="the new encrypted book (must not exist)")
    enc.set_defaults(func=cmd_encrypt)


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
        "encrypted": database.encrypted,
        "tables": counts,
    }


def cmd_info(args: argparse.Namespace) -> int:
    with Database(database_url(args.db)) as database:
        info = db_info(database)
    if args.json:
        print_json(info)
        return 0
    print(
        f"database:  {info['url']}" + ("  (encrypted, key in the OS keychain)" if info["encrypted"] else "")
    )
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


def cmd_encrypt(args: argparse.Namespace) -> int:
    from connectors.book_key import new_key, store_key
    from connectors.credentials import KeyringCredentialStore

    url = parse_url(resolve_db_url(args.db))
    if url.drivername not in ("sqlite", "sqlite+pysqlite") or not url.database:
        raise ConfigurationError(f"db encrypt copies a plain SQLite book; {mask_url(url)} is not one")
    out = args.out.expanduser().resolve()
    target = URL.create("sqlite+pysqlcipher", database=str(out))
    if out.exists():
        raise ConfigurationError(f"{out} exists: db encrypt writes a new file and never overwrites one")
    key = new_key()
    store = KeyringCredentialStore()
    store_key(target, store, key)  # refused without a secure keychain, before anything is written
    tables = encrypt_copy(Path(url.database).expanduser(), out, key)
    with Database(target.set(password=key)) as check:  # the copy opens with the stored key
        info = db_info(check)
    print(f"encrypted {tables} tables into {out}; open it with --db {target.render_as_string()}")
    print(f"revision {info['revision']}; key in the OS keychain (service workstation-book-key, user {out})")
    return 0
