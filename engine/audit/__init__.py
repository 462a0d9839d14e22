"""Append-only, hash-chained audit log: every state change, approval, login and rule change."""

from engine.audit.chain import record, record_separately
from engine.audit.verify import VerifyReport, verify_chain

__all__ = ["VerifyReport", "record", "record_separately", "verify_chain"]
