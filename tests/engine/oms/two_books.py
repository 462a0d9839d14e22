"""Two fresh migrated books with reference data, on SQLite and on PostgreSQL: one for the wave path,
one for the one-by-one path, to compare what each writes (tests/engine/oms/ledger_digest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store.database import Database
from tests.conftest import _TEMPLATES, PG_ENV, _keychain_box, _pg_admin, _pg_url_for, pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_books(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """(the wave path's book, the one-by-one path's book), both empty of orders."""
    if request.param == "sqlite":
        a = Database(_TEMPLATES.sqlite_copy(tmp_path / "a.db"), secret_box=_keychain_box())
        b = Database(_TEMPLATES.sqlite_copy(tmp_path / "b.db"), secret_box=_keychain_box())
        yield a, b
        a.dispose()
        b.dispose()
        return
    base = pg_url()
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    names = [_TEMPLATES.pg_clone(base), _TEMPLATES.pg_clone(base)]
    books = [Database(_pg_url_for(base, n), secret_box=_keychain_box()) for n in names]
    try:
        yield books[0], books[1]
    finally:
        for db in books:
            db.dispose()
        with _pg_admin(base).connect() as conn:
            for n in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
