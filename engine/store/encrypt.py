"""Copy a plain SQLite book into a new SQLCipher-encrypted one (`workstation db encrypt`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.errors import ConfigurationError
from engine.store.files import create_private_file, private_dir


def encrypt_copy(plain: Path, out: Path, key: str) -> int:
    """Write every table of the plain book `plain` into the new encrypted file `out` under `key`
    (SQLCipher's own `sqlcipher_export`); returns the number of tables copied. `out` must not exist."""
    import sqlcipher3

    if out.exists():
        raise ConfigurationError(f"{out} exists: db encrypt writes a new file and never overwrites one")
    if not plain.is_file():
        raise ConfigurationError(f"{plain}: no such book")
    with sqlite3.connect(plain) as conn:  # fold the WAL into the main file first
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    private_dir(out.parent, tighten=False)
    create_private_file(out)
    src = sqlcipher3.connect(str(plain))
    try:
        src.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(out), key))
        src.execute("SELECT sqlcipher_export('encrypted')")
        tables = src.execute("SELECT count(*) FROM encrypted.sqlite_master WHERE type = 'table'").fetchone()[
            0
        ]
        src.execute("DETACH DATABASE encrypted")
    except Exception:
        src.close()
        out.unlink(missing_ok=True)
        raise
    src.close()
    return int(tables)
