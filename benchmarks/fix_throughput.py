"""FIX round trips through the OMS against the SIMULATED broker in another process.

Part 1: lone orders, release -> fill recorded in the database: orders/s and p50/p99 latency.
Part 2: a rebalance's child orders (default 20,000 over 10,000 accounts) aggregated into blocks,
routed, filled in parts, allocated back to every account: wall time end to end.

Usage: .venv/bin/python benchmarks/fix_throughput.py [--orders 500] [--accounts 10000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from engine.oms.drafts import OrderDraft  # noqa: E402
from engine.oms.events import OrderChanged  # noqa: E402
from engine.oms.tables import Allocation, AllocInstruction  # noqa: E402
from engine.store.accounts import Account, Household  # noqa: E402
from tests.conftest import migrated  # noqa: E402
from tests.connectors.fix.harness import Oms, Sim  # noqa: E402
from tests.engine.oms.book import PassAll, RecordingBooker, make_book  # noqa: E402


def add_accounts(db, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        hid = s.scalar(select(Household.id))
        rows = [
            dict(code=f"B{i:05d}", name=f"Bench {i}", household_id=hid, base_currency="USD", custodian="X",
                 tax_status="taxable", tax_jurisdiction="US", client_type="retail", domicile="onshore",
                 kyc_status="approved", risk_rating="medium", cash_target=Decimal("0.02"),
                 cash_floor=Decimal("0.01"), drift_band=Decimal("0.05"), lot_relief="fifo")
            for i in range(n)
        ]  # fmt: skip
        s.execute(insert(Account), rows)
    return [r["code"] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=500)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--per-account", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fixbench-"))
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    make_book(db)
    codes = add_accounts(db, args.accounts)
    sim = Sim(tmp, "--ignore-market-hours", "--fill-parts", "1", "--fill-interval", "0").ready()
    rows = []
    try:
        oms = Oms(db, tmp, sim.port, checker=PassAll(), booker=RecordingBooker())
        filled_at: dict[int, float] = {}
        oms.manager.bus.subscribe(
            OrderChanged,
            lambda e: filled_at.setdefault(e.order_id, time.perf_counter()) if e.status == "filled" else None,
        )
        # Part 1: lone orders, routed in waves of 50
        ids = oms.create(
            *[
                OrderDraft(codes[i % len(codes)], "AAPL", "buy", Decimal(100), broker="SIM")
                for i in range(args.orders)
            ]
        )
        sent_at: dict[int, float] = {}
        t0 = time.perf_counter()
        for k in range(0, len(ids), 50):
            wave = ids[k : k + 50]
            now = time.perf_counter()
            sent_at.update({i: now for i in wave})
            oms.manager.route(wave)
            oms.loop.step(0.0)
        oms.loop.run_until(lambda: all(i in filled_at for i in ids), 600)
        wall = time.perf_counter() - t0
        lat = sorted((filled_at[i] - sent_at[i]) * 1000 for i in ids)
        rows.append(("lone orders, release->fill in DB", len(ids), wall, len(ids) / wall,
                     statistics.median(lat), lat[int(0.99 * (len(lat) - 1))]))  # fmt: skip
        # Part 2: child orders of a rebalance, as blocks with allocations
        syms = ("AAPL", "VOD.L", "7203.T")
        drafts = [
            OrderDraft(
                c,
                syms[(j + n) % 3],
                "buy" if j % 2 == 0 else "sell",
                Decimal(100 * (1 + n % 5)),
                broker="SIM",
            )
            for n, c in enumerate(codes)
            for j in range(args.per_account)
        ]
        t_create = time.perf_counter()
        child_ids = oms.manager.create(drafts)
        t1 = time.perf_counter()
        blocks = oms.manager.build_blocks(child_ids)
        oms.manager.route(blocks, outside_hours=True)
        oms.loop.run_until(lambda: all(b in filled_at for b in blocks), 600)
        wall2 = time.perf_counter() - t1
        with db.session() as s:
            n_alloc = s.scalar(
                select(func.count()).select_from(Allocation).where(Allocation.block_id.in_(blocks))
            )
        rows.append((f"{len(child_ids)} children in {len(blocks)} blocks, route->allocated", n_alloc, wall2,
                     n_alloc / wall2, float("nan"), float("nan")))  # fmt: skip

        def accepted() -> int:  # the blocks' AllocationInstructions (J) the broker accepted (P, AS)
            with db.session() as s:
                return int(s.scalar(select(func.count()).select_from(AllocInstruction).where(
                    AllocInstruction.block_id.in_(blocks), AllocInstruction.report_id.is_not(None))) or 0)  # fmt: skip

        oms.loop.run_until(lambda: accepted() == len(blocks), 600)
        wall3 = time.perf_counter() - t1
        rows.append((f"... and {accepted()} J accepted (P) and reported (AS)", n_alloc, wall3,
                     n_alloc / wall3, float("nan"), float("nan")))  # fmt: skip
        create_s = t1 - t_create
        oms.stop()
    finally:
        sim.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'case':<58} {'n':>7} {'wall s':>8} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, n, w, per, p50, p99 in rows:
        print(f"{name:<58} {n:>7} {w:>8.2f} {per:>9.1f} {p50:>8.1f} {p99:>8.1f}")
    print(
        f"creating {len(drafts)} child orders (with the compliance double): {create_s:.2f} s; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
