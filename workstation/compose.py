"""Composition root: opens the store for a command (schema and reference data in place, the OS
keychain's key for sealed secrets injected), builds the OMS with every control
(engine.compose.build_order_manager), and hands out the audit checkpoint keys."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import resources
from engine.access import mfa
from engine.audit.signing import Signer, Verifier
from engine.clock import Clock
from engine.compose import build_order_manager
from engine.errors import ConfigurationError, ImportValidationError, Problem
from engine.events import EventBus
from engine.oms.gateway import OrderGateway
from engine.oms.service import OrderManager
from engine.ports import MarketDataPort
from engine.store.database import Database, is_encrypted, mask_url, parse_url
from engine.store.migrate import is_current, upgrade
from engine.store.reference_seed import seed_reference
from engine.store.sealing import SecretBox, SecretKeyUnavailable
from workstation.config import SERVER_SSLMODE, data_dir, is_loopback, resolve_db_url, tls_options

if TYPE_CHECKING:
    from engine.daycycle.inbox import InboxItem, InboxKind

log = logging.getLogger(__name__)


def database_url(db: str | None) -> URL:
    """The URL to connect with: --db / $WORKSTATION_DB / default; for a server database the
    password from the OS keychain and the TLS options of the environment (URL query wins; a
    server off this machine defaults to sslmode=verify-full); for
    an encrypted SQLite book (`sqlite+pysqlcipher:///PATH`) its key from the OS keychain.
    Holds the password: never log it (use mask_url)."""
    url = parse_url(resolve_db_url(db))
    if is_encrypted(url):
        from connectors.book_key import url_with_book_key
        from connectors.credentials import KeyringCredentialStore

        return url_with_book_key(url, KeyringCredentialStore())
    if url.get_backend_name() == "sqlite":
        return url
    from connectors.credentials import KeyringCredentialStore, url_with_password

    url = url_with_password(url, KeyringCredentialStore())  # refuses a password written in the URL
    extra = {k: v for k, v in tls_options().items() if k not in url.query}
    if "sslmode" not in url.query and "sslmode" not in extra and not is_loopback(url.host):
        extra["sslmode"] = SERVER_SSLMODE  # fail closed: no clear text or unverified TLS off the machine
    return url.update_query_dict(extra) if extra else url


def open_store(db: str | None, *, migrate: bool = True) -> Database:
    """Open the database named by --db / $WORKSTATION_DB / the embedded default.

    The embedded SQLite default is migrated on open (a single desk owns it). A shared server
    database is migrated only by `workstation db upgrade`, so desks never race to migrate it.
    """
    database = Database(database_url(db), secret_box=secret_box())
    if database.dialect == "sqlite" and migrate:
        upgrade(database)
    elif not is_current(database):
        raise ConfigurationError(
            f"{mask_url(database.url)} is not at the current schema: run `workstation db upgrade` first"
        )
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    seal_clear_secrets(database)
    return database


def seal_clear_secrets(database: Database) -> int:
    """Seal TOTP secrets an older version stored in clear, right after migrating (a migration
    cannot reach the keychain). Without a key it leaves them: their owners are refused the second
    factor until `workstation users mfa seal` runs where the key is (fail closed)."""
    with database.transaction() as session:
        if not mfa.clear_secrets(session):
            return 0
        try:
            return mfa.seal_clear_secrets(
                session, "migration", "sealed after the upgrade", enforce_permission=False
            )
        except SecretKeyUnavailable as exc:
            log.warning("TOTP secrets left in clear (their second factor is refused): %s", exc)
            return 0


def secret_box() -> SecretBox:
    """The SecretBox for TOTP secrets: a Fernet key in the OS keychain (connectors.keys), read when used."""
    from connectors.keys import KeychainSecretBox

    return KeychainSecretBox()


def audit_signer() -> Signer:
    """The Ed25519 key that signs audit checkpoints (created in the OS keychain the first time)."""
    from connectors.keys import keychain_signer

    return keychain_signer()


def audit_verifier() -> Verifier:
    """The public key that checks audit checkpoints (SecretKeyUnavailable when the keychain has none)."""
    from connectors.keys import keychain_verifier

    return keychain_verifier()


def order_manager(
    database: Database,
    *,
    gateway: OrderGateway | None = None,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    username: str = "oms",
) -> OrderManager:
    """The OMS for the CLI, the headless OMS and the desk: every control wired, none optional
    (engine.compose.build_order_manager; the FIX gateway comes from connectors.fix), with the
    simulated market's tape for TCA."""
    return build_order_manager(
        database,
        clock=clock,
        bus=bus,
        gateway=gateway,
        username=username,
        market_data=simulated_market(database) if gateway is not None else None,
    )


def simulated_market(database: Database) -> MarketDataPort:
    """The SIMULATED market's tape as the OMS's market data (arrival prices, prints for TCA):
    the tape `workstation broker-sim --prices-from-db --seed 7` fills on (connectors.broker_sim.tape)."""
    from connectors.broker_sim.prices import book_prices
    from connectors.broker_sim.tape import SimulatedTape

    return SimulatedTape(lambda: book_prices(database), seed=7)  # loaded at the first release, not here


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


def _custodian_activity(session: Session, item: InboxItem, username: str) -> dict[str, Any]:
    """An INBOX/<custodian>/activity/ file: the custodian's daily activity (CSV by its profile,
    or camt.053 cash entries), booked once through the ledger (engine.activity)."""
    from connectors.custodian.activity import read_activity_file
    from engine.activity.load import book_activity_file

    parsed = read_activity_file(item.path, item.folder)
    done = book_activity_file(
        session, parsed, custodian=item.folder, username=username, source_name=item.name,
        content_hash=parsed.content_hash,
    )  # fmt: skip
    return {"custodian": done.custodian, "format": done.format, "lines": done.lines, "booked": done.booked,
            "skipped": done.skipped, "already_loaded": done.already_loaded, **done.counts}  # fmt: skip


def inbox_kinds() -> list[InboxKind]:
    """THE registry of inbox readers, first match wins (engine.daycycle.inbox): the engine's own
    (ECB rates, end-of-day closes), then the custodian formats that live in connectors. Adding a
    kind (custodian activity, corporate-action files) is one entry here."""
    from engine.daycycle.inbox import InboxKind, custodian_activity_file, custodian_file, engine_kinds

    return [
        *engine_kinds(),
        InboxKind("custodian-statement", custodian_file, _custodian_statement),
        InboxKind("custodian-activity", custodian_activity_file, _custodian_activity),
    ]


def default_inbox() -> Path:
    """The inbox under the user data directory (beside the default book)."""
    return data_dir() / "inbox"
