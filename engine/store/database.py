"""Open a database by SQLAlchemy URL; SQLite gets WAL, foreign keys and a busy timeout.

A SQLite book is created 0600 (its -wal and -shm files take the same mode) in a directory
created 0700: it holds client positions and orders. A `sqlite+pysqlcipher` book is encrypted
at rest by SQLCipher (AES-256, HMAC per page): its key arrives in the URL's password, put there
by the composition root from the OS keychain, and a book that the key does not open is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DatabaseError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from engine.errors import ConfigurationError
from engine.store.files import create_private_file, private_dir, private_file
from engine.store.sealing import SESSION_KEY, SecretBox

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache for bulk loads and revaluation scans
    cur.close()


def _begin_before_first_savepoint(conn: Connection, _name: str | None) -> None:
    """Python's sqlite3 starts no transaction before a SAVEPOINT, so SQLite would open one for it
    and the savepoint's RELEASE would commit it: a later error could not roll those writes back.
    Begin the transaction first, so a savepoint is always nested inside the one it belongs to."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        dbapi.execute("BEGIN")


def _private_sqlite(path: Path) -> None:
    """The book file 0600 before SQLite opens it (SQLite gives -wal and -shm the file's mode)."""
    if str(path).startswith("file:"):  # a URI filename: SQLite creates it as it is told
        return
    try:
        private_dir(path.parent, tighten=False)  # a user's folder holding the book stays as it is
        create_private_file(path)
        for suffix in SQLITE_SIDE_FILES:
            private_file(path.with_name(path.name + suffix))
    except OSError as exc:
        raise ConfigurationError(f"cannot open the book {path}: {exc.strerror or exc}") from None


def parse_url(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {url!s} ({exc})") from None


def is_encrypted(url: str | URL) -> bool:
    """Whether the URL names a SQLCipher-encrypted SQLite book."""
    return parse_url(url).drivername == "sqlite+pysqlcipher"


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, safe for logs and `db info`."""
    return parse_url(url).render_as_string(hide_password=True)


class Database:
    """One SQLAlchemy engine and its session factory.

    `secret_box` (engine.store.sealing) seals secrets kept in the book, such as TOTP secrets; the
    composition root passes the OS keychain's, and every session carries it in `Session.info`.
    Without one, whatever needs it is refused.
    """

    def __init__(self, url: str | URL, *, secret_box: SecretBox | None = None, **engine_kwargs: Any) -> None:
        import engine.store.schema  # noqa: F401 - every package's tables, so foreign keys resolve

        self.url = parse_url(url)
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            _private_sqlite(Path(self.url.database).expanduser())
        if is_encrypted(self.url):
            if not self.url.password:
                raise ConfigurationError(
                    f"{mask_url(self.url)} is encrypted: its key must come from the OS keychain"
                )
            # The driver's default pool keeps one connection per thread; the desk's workers need
            # the same shared pool as a plain book.
            engine_kwargs.setdefault("poolclass", QueuePool)
            engine_kwargs.setdefault("connect_args", {"check_same_thread": False})
        self.engine: Engine = create_engine(self.url, **engine_kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "savepoint", _begin_before_first_savepoint)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.secret_box: SecretBox | None = None
        if secret_box is not None:
            self.use_secret_box(secret_box)
        if is_encrypted(self.url):
            self._check_key()

    def use_secret_box(self, box: SecretBox) -> None:
        """Seal and open secrets with `box` in every session opened from now on."""
        self.secret_box = box
        self.sessions.configure(info={SESSION_KEY: box})

    def _check_key(self) -> None:
        """Read the first page: a wrong key or a plain file fails here, not in the middle of a command."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one()
        except DatabaseError:
            self.engine.dispose()
            raise ConfigurationError(
                f"cannot open the encrypted book {self.url.database}: the key in the OS keychain does "
                "not open it (a different key, or not an encrypted book)"
            ) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving a `with` block releases the engine's connections."""
        self.dispose()

    @property
    def encrypted(self) -> bool:
        return is_encrypted(self.url)

    def __repr__(self) -> str:
        return f"Database({mask_url(self.url)})"
