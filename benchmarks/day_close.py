"""Benchmark: `day close` of the 10,000-account demo book, step by step (target: under 60 s).

Build the book once:  workstation --db sqlite:////tmp/bench10k_day.db demo --accounts 10000 --history-years 0
Then:                 python benchmarks/day_close.py --db sqlite:////tmp/bench10k_day.db [--no-statements]
                      [--activity 20000]

The book is copied to a scratch file first (the source stays as built). The inbox for the book's
as-of date D holds what a desk receives: the ECB's eurofxref-daily.xml for D and an end-of-day
close file for every priced security (both written from the book's own numbers), and the three
simulated custodians' statements for D (about 1.1M position lines; `--no-statements` leaves
them out), and the custodians' activity files for D with `--activity` lines (default 20,000:
deposits, withdrawals and fees, each custodian in its own format, engine.demo.history_files). The close runs as the demo's operations user; then the same close again (nothing to
do). Prints each step's wall time, the total wall and CPU seconds, and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from engine.daycycle.cycle import close_day
from engine.demo.custodian_files import CUSTODIANS, write_custodian_files
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.migrate import upgrade
from engine.store.reference import Security
from workstation.compose import inbox_kinds

OPS = "otto.ops"  # the demo's operations user: day.close, book.import, reconcile.load/run


def _as_of(database: Database) -> date:
    from engine.rebalance.book import book_as_of

    with database.session() as s:
        return book_as_of(s)


def write_activity_lines(database: Database, inbox: Path, day: date, n: int) -> int:
    """`n` activity lines for `day` over the book's accounts: a deposit, withdrawal or fee each."""
    import pandas as pd

    from engine.demo.history_files import write_activity
    from engine.store.accounts import Account

    with database.session() as s:
        accts = s.execute(
            select(Account.code, Account.custodian, Account.base_currency).order_by(Account.id)
        ).all()
    kinds = ("deposit", "fee", "withdrawal")
    rows = []
    for i in range(n):
        code, custodian, ccy = accts[i % len(accts)]
        kind = kinds[(i // len(accts)) % 3]
        rows.append({"reference": f"BENCH-{day:%Y%m%d}-{i:06d}", "account": code, "custodian": custodian,
                     "kind": kind, "trade_date": day, "currency": ccy, "amount": str(100 + i % 900),
                     "counter_currency": "", "counter_amount": "", "description": "SIMULATED benchmark line"})  # fmt: skip
    return write_activity(inbox, day, pd.DataFrame(rows))


def write_inbox(database: Database, inbox: Path, day: date, statements: bool) -> dict[str, int]:
    """The custodians' statements (their generator books the corporate actions they show, ISIN
    changes included), then ECB XML and EOD closes for `day` from the book's own numbers."""
    counts = {"statement files": 0}
    if statements:
        gen = inbox.parent / "generated"
        write_custodian_files(database, gen, seed=7, breaks=0.01)
        for cust in CUSTODIANS:
            folder = inbox / cust
            folder.mkdir(parents=True, exist_ok=True)
            for f in sorted(gen.glob(f"{cust.lower()}_*")):
                shutil.move(str(f), folder / f.name)
                counts["statement files"] += 1
    (inbox / "ecb").mkdir(parents=True, exist_ok=True)
    (inbox / "prices").mkdir(parents=True, exist_ok=True)
    with database.session() as s:
        rates = s.execute(
            select(FxRate.quote, FxRate.rate).where(FxRate.base == "EUR", FxRate.date == day)
        ).all()
        closes = s.execute(
            select(Security.isin, Security.mic, Security.currency, PriceBar.close)
            .join(PriceBar, PriceBar.security_id == Security.id)
            .where(PriceBar.date == day, Security.isin.is_not(None))
        ).all()
    cubes = "\n".join(f"\t\t\t<Cube currency='{q}' rate='{r}'/>" for q, r in rates)
    (inbox / "ecb" / "eurofxref-daily.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
        "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
        f"\t<Cube>\n\t\t<Cube time='{day.isoformat()}'>\n{cubes}\n\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n",
        encoding="utf-8",
    )
    lines = ["identifier,id_type,mic,date,close,currency"]
    lines += [f"{isin},ISIN,{mic},{day},{close},{ccy}" for isin, mic, ccy, close in closes]
    (inbox / "prices" / f"eod-{day}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"fx rates": len(rates), "closes": len(closes), **counts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the built 10,000-account demo book (SQLite URL)")
    ap.add_argument("--no-statements", action="store_true", help="leave the custodians' statements out")
    ap.add_argument(
        "--activity", type=int, default=20_000, help="activity lines in the inbox (default 20,000)"
    )
    args = ap.parse_args()
    source = Path(args.db.removeprefix("sqlite:///"))
    work = Path(tempfile.mkdtemp(prefix="day-close-bench-"))
    scratch = work / "book.db"
    shutil.copyfile(source, scratch)
    database = Database(f"sqlite:///{scratch}")
    upgrade(database)
    day = _as_of(database)
    t0 = time.perf_counter()
    counts = write_inbox(database, work / "inbox", day, not args.no_statements)
    if args.activity:
        counts["activity files"] = write_activity_lines(database, work / "inbox", day, args.activity)
        counts["activity lines"] = args.activity
    print(f"inbox for {day} written in {time.perf_counter() - t0:.1f} s: {counts}")
    load_before = os.getloadavg()
    steps: list[tuple[str, float, float]] = []
    marks: dict[str, tuple[float, float]] = {}

    def progress(line: str) -> None:
        name = line.split(" ")[2].rstrip(":")
        if line.endswith("..."):
            marks[name] = (time.perf_counter(), time.process_time())
        elif name in marks:
            w, c = marks.pop(name)
            steps.append((name, time.perf_counter() - w, time.process_time() - c))

    wall, cpu = time.perf_counter(), time.process_time()
    result = close_day(database, day, OPS, inbox=work / "inbox", kinds=inbox_kinds(), progress=progress)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    again = time.perf_counter()
    close_day(database, day, OPS, inbox=work / "inbox", kinds=inbox_kinds())
    again = time.perf_counter() - again
    load_after = os.getloadavg()
    print(f"\nday close {day}: {result.status}, 10,000-account demo book (SQLite)\n")
    print(f"{'step':<20}{'wall s':>8}{'CPU s':>8}")
    for name, secs, cpus in steps:
        print(f"{name:<20}{secs:>8.1f}{cpus:>8.1f}")
    print(f"{'total':<20}{wall:>8.1f}{cpu:>8.1f}   (target 60 s wall)")
    print(f"{'re-run (closed)':<20}{again:>8.2f}")
    for st in result.steps:
        print(f"  {st['name']}: {st['counts']}; {len(st['exceptions'])} exception(s)")
        for e in st["exceptions"][:3]:
            print(f"    {str(e)[:200]}")
    print(f"\nload average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({os.cpu_count()} cores)")  # fmt: skip
    database.dispose()
    shutil.rmtree(work, ignore_errors=True)
    return 0 if result.status == "closed" else 1


if __name__ == "__main__":
    sys.exit(main())
