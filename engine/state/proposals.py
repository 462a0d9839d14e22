"""The state table of a rebalance proposal (engine.rebalance: review, release; bulk creates them).

    (created) ok | infeasible | failed      a solve's outcome; only `ok` carries trades
    ok        --accept-->  accepted         the PM sends it on to compliance
    ok        --reject-->  rejected         (with a reason)
    rejected  --accept-->  accepted         the PM changed their mind
    accepted  --reject-->  rejected
    accepted  --release--> released         its trades became OMS orders (final)

Audit actions: proposal.create, proposal.accept, proposal.reject, proposal.release.
"""

from __future__ import annotations

from engine.state.machine import StateMachine

OK, ACCEPTED, REJECTED, RELEASED = "ok", "accepted", "rejected", "released"
CREATED = frozenset({OK, "infeasible", "failed"})

PROPOSALS = StateMachine(
    "proposal",
    {
        (OK, "accept"): ACCEPTED,
        (OK, "reject"): REJECTED,
        (REJECTED, "accept"): ACCEPTED,
        (ACCEPTED, "reject"): REJECTED,
        (ACCEPTED, "release"): RELEASED,
    },
    initial=CREATED,
)
