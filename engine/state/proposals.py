"""The state table of a rebalance proposal (engine.rebalance: review, release; bulk creates them).

    (created) ok | infeasible | failed      a solve's outcome; only `ok` carries trades
    ok        --accept-->  accepted         the PM sends it on to compliance
    ok        --reject-->  rejected         (with a reason)
    rejected  --accept-->  accepted         the PM changed their mind
    accepted  --reject-->  rejected
    accepted  --release--> released         its trades became OMS orders (final)
    ok        --edit-->    ok               a PM changed or removed a trade (engine.rebalance.trade_edit)
    rejected  --edit-->    rejected         ... the proposal is re-checked, see payload.recheck

Audit actions: proposal.create, proposal.accept, proposal.reject, proposal.release, proposal.edit.
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
        (OK, "edit"): OK,
        (REJECTED, "edit"): REJECTED,
    },
    initial=CREATED,
)
