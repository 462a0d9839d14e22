"""The one audited state engine: every status the desk works moves through `StateMachine.fire`."""

from engine.state.machine import Computed, Journal, StateMachine, Transition

__all__ = ["Computed", "Journal", "StateMachine", "Transition"]
