"""Behaviour and fault injection settings of the broker simulator."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimSettings:
    """How the simulated broker behaves. Rates are probabilities per order (0..1), seeded."""

    fill_parts: int = 3  # partial fills per order; 0 = never fill (orders stay working)
    fill_interval: float = 0.2  # seconds between fills (of simulated broker time)
    reject_rate: float = 0.0  # new orders rejected with a reason
    drop_after: int = 0  # drop the connection once after this many application messages sent
    delay: float = 0.0  # seconds before acknowledging a new order
    unsolicited_cancel_rate: float = 0.0  # cancel the rest after the first partial fill
    duplicate_rate: float = 0.0  # send an ExecutionReport twice (same ExecID, PossResend=Y)
    race_cancel: bool = False  # a cancel request first gets a fill of half of what is left
    reject_cancels: bool = False  # every cancel / replace request is rejected
    market_hours: bool = True  # fill only while the order's market is open; expire day orders
    seed: int = 7
    # Allocations (AllocationInstruction J): AllocAccounts the broker does not know (an account-level
    # reject, AllocRejCode 0), the first N instructions rejected at block level (AllocRejCode 7), or
    # none answered at all (a counterpart without FIX allocations).
    unknown_alloc_accounts: frozenset[str] = frozenset()
    reject_allocs: int = 0
    ignore_allocs: bool = False
