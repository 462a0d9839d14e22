"""The state tables of a transition plan, its steps, and a proposal exception (engine.rebalance).

Plan:
    (planned by a PM)  active
    active --finish--> done          its last step's proposal was released
    active --cancel--> cancelled     (with a reason)

Step:
    (with its plan)  planned
    planned  --propose-->   proposed   the step became a proposal (proposal_id set)
    proposed --repropose--> proposed   its proposal was rejected: solved again, a new proposal
    proposed --complete-->  done       its proposal was released to trading

Exception (a proposal over a limit, engine.rebalance.exceptions):
    (queued when the proposal is stored)  open
    open --sign_off--> signed_off   a PM other than the proposal's creator (four eyes)
    open --deny-->     denied       (with a reason); the proposal cannot be accepted

Audit actions: transition.create/finish/cancel, transition_step.create/propose/repropose/complete,
proposal_exception.open/sign_off/deny.
"""

from __future__ import annotations

from engine.state.machine import StateMachine

ACTIVE, DONE, CANCELLED = "active", "done", "cancelled"
PLANNED, PROPOSED = "planned", "proposed"
OPEN, SIGNED_OFF, DENIED = "open", "signed_off", "denied"

PLANS = StateMachine(
    "transition",
    {(ACTIVE, "finish"): DONE, (ACTIVE, "cancel"): CANCELLED},
    initial=frozenset({ACTIVE}),
)

STEPS = StateMachine(
    "transition_step",
    {
        (PLANNED, "propose"): PROPOSED,
        (PROPOSED, "repropose"): PROPOSED,
        (PROPOSED, "complete"): DONE,
    },
    initial=frozenset({PLANNED}),
)

EXCEPTIONS = StateMachine(
    "proposal_exception",
    {(OPEN, "sign_off"): SIGNED_OFF, (OPEN, "deny"): DENIED},
    initial=frozenset({OPEN}),
)
