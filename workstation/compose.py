"""Composition root: opens the store for a command (schema and reference data in place) and builds
the OMS with every control (engine.compose.build_order_manager)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import resources
from engine.clock import Clock
from engine.compose import build_order_manager
from engine.errors import ConfigurationError, ImportValidationError, Problem
from engine.events import EventBus
from engine.oms.gateway import OrderGateway
from engine.oms.service import OrderManager
from engine.store.database import Database, mask_url, parse_url
from engine.store.migrate import is_current, upgrade
from engine.store.reference_seed import seed_reference
from workstation.config import data_dir, resolve_db_url, tls_options

if TYPE_CHECKING:
    from engine.daycycle.inbox import InboxItem, InboxKind


def database_url(db: str | None) -> URL:
    """The URL to connect with: --db / $WORKSTATION_DB / default; for a server database the
    password from the OS keychain and the TLS options of the environment (URL query wins).
    Holds the password: never log it (use mask_url)."""
    url = parse_url(resolve_db_url(db))
    if url.get_backend_name() == "sqlite":
        return url
    from connectors.credentials import KeyringCredentialStore, url_with_password

    url = url_with_password(url, KeyringCredentialStore())  # refuses a password written in the URL
    extra = {k: v for k, v in tls_options().items() if k not in url.query}
    return url.update_query_dict(extra) if extra else url


def open_store(db: str | None, *, migrate: bool = True) -> Database:
    """Open the database named by --db / $WORKSTATION_DB / the embedded default.

    The embedded SQLite default is migrated on open (a single desk owns it). A shared server
    database is migrated only by `workstation db upgrade`, so desks never race to migrate it.
    """
    database = Database(database_url(db))
    if database.dialect == "sqlite" and migrate:
        upgrade(database)
    elif not is_current(database):
        raise ConfigurationError(
            f"{mask_url(database.url)} is not at the current schema: run `workstation db upgrade` first"
        )
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    return database


def order_manager(
    database: Database,
    *,
    gateway: OrderGateway | None = None,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    username: str = "oms",
) -> OrderManager:
    """The OMS for the CLI, the headless OMS and the desk: every control wired, none optional
    (engine.compose.build_order_manager; the FIX gateway comes from connectors.fix)."""
    return build_order_manager(database, clock=clock, bus=bus, gateway=gateway, username=username)


def _custodian_statement(session: Session, item: InboxItem, username: str) -> dict[str, Any]:
    """An INBOX/<custodian>/ statement (semt.002, camt.053, CSV by the custodian's profile)."""
    from connectors.custodian.profile import profile_for
    from connectors.custodian.read import read_statement
    from engine.reconcile.load import store_statement

    parsed = read_statement(item.path, profile_for(item.folder))
    if parsed.statement.custodian != item.folder:
        raise ImportValidationError(
            item.name,
            [Problem(1, "custodian", f"the file is {parsed.statement.custodian}'s, not {item.folder}'s")],
        )
    done = store_statement(session, parsed.statement, item.name, parsed.sha256, username)
    return {"custodian": done.custodian, "statement": done.kind, "as_of": done.as_of, "lines": done.lines,
            "duplicate": done.duplicate}  # fmt: skip


def inbox_kinds() -> list[InboxKind]:
    """THE registry of inbox readers, first match wins (engine.daycycle.inbox): the engine's own
    (ECB rates, end-of-day closes), then the custodian formats that live in connectors. Adding a
    kind (custodian activity, corporate-action files) is one entry here."""
    from engine.daycycle.inbox import InboxKind, custodian_file, engine_kinds

    return [
        *engine_kinds(),
        InboxKind("custodian-statement", custodian_file, _custodian_statement),
    ]


def default_inbox() -> Path:
    """The inbox under the user data directory (beside the default book)."""
    return data_dir() / "inbox"
