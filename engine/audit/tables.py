"""The audit package's own tables: the chain head and the signed checkpoints of purged entries
(entries live in audit_log, engine.store.people)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, UTCDateTime


class AuditHead(Base):
    """The one row holding the audit chain's last sequence number and hash.

    Appenders update it first, which serialises them (row lock on PostgreSQL, write lock on
    SQLite), so the chain never forks; verify also compares it with the last entry, so a
    deleted tail is detected.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    last_id: Mapped[int | None] = mapped_column(Integer)
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed record of audit entries purged by the retention policy (engine.audit.checkpoint).

    The kept chain starts where the checkpoint ends: its first entry's `prev_hash` is the
    checkpoint's `last_hash`. The head it hands over to (`head_id`, `head_hash`, `head_seq`) anchors
    the kept entries to the signature. Written once, never changed (verify checks the signature).
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    first_id: Mapped[int] = mapped_column(Integer, doc="the first purged entry")
    last_id: Mapped[int] = mapped_column(Integer, doc="the last purged entry")
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer, doc="entries purged by this checkpoint")
    purged_total: Mapped[int] = mapped_column(Integer, doc="entries purged by it and every earlier one")
    first_prev_hash: Mapped[str | None] = mapped_column(String(64), doc="the first purged entry's prev_hash")
    last_hash: Mapped[str] = mapped_column(String(64), doc="the last purged entry's hash")
    head_id: Mapped[int] = mapped_column(Integer, doc="the chain head when purged")
    head_hash: Mapped[str] = mapped_column(String(64))
    head_seq: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(16), doc="the signing key (SHA-256 of its public key, 16 hex)")
    signature: Mapped[str] = mapped_column(String(128), doc="Ed25519 over the canonical payload, base64")
