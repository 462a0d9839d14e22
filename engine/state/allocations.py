"""The state table of a FIX allocation instruction (engine.oms.post_trade, oms_alloc_instructions).

    (made when a block ends with fills)   pending     committed, not yet handed to the session
    pending      --send-->       sent          handed to the broker's FIX session
    sent         --received-->   acknowledged  AllocationInstructionAck, AllocStatus 3 (received)
    sent | acknowledged --accept--> accepted   Ack AllocStatus 0, or an AllocationReport accepting it
    sent | acknowledged --reject--> rejected   Ack AllocStatus 1 (block) / 2 (account) / 5 (intermediary)
    accepted     --report-->     accepted      the AllocationReport (35=AS) after an accepted ack
    sent         --unanswered--> sent          no ack in time, or a BusinessMessageReject: alerted once
    rejected     --replace-->    replaced      re-sent after correction as a new instruction
                                               (AllocTransType 1 Replace, RefAllocID = this one)

Audit entries `oms.allocation.<event>` on entity `alloc_instruction` (the AllocID), with the
broker's reason code and text in `after`.
"""

from __future__ import annotations

from engine.state.machine import AuditJournal, StateMachine

PENDING, SENT, ACKNOWLEDGED, ACCEPTED, REJECTED, REPLACED = (
    "pending",
    "sent",
    "acknowledged",
    "accepted",
    "rejected",
    "replaced",
)

ALLOC_INSTRUCTIONS = StateMachine(
    "oms.allocation",
    {
        (PENDING, "send"): SENT,
        (SENT, "received"): ACKNOWLEDGED,
        (SENT, "accept"): ACCEPTED,
        (ACKNOWLEDGED, "accept"): ACCEPTED,
        (SENT, "reject"): REJECTED,
        (ACKNOWLEDGED, "reject"): REJECTED,
        (ACCEPTED, "report"): ACCEPTED,
        (SENT, "unanswered"): SENT,
        (REJECTED, "replace"): REPLACED,
    },
    journal=AuditJournal(
        entity=lambda a, change: ("alloc_instruction", a.alloc_id if a else change.entity_id)
    ),
    initial=frozenset({PENDING}),
)
