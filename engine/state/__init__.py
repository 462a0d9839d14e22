"""The one audited state engine: every status the desk works moves through `StateMachine.fire`."""

from engine.state.machine import AuditJournal, Computed, Journal, StateMachine, Transition, audit_journal

__all__ = ["AuditJournal", "Computed", "Journal", "StateMachine", "Transition", "audit_journal"]
