"""Benchmark: parse and store the three simulated custodians' statements (about 1.1M lines).

Build the book once and write its statements:
  workstation --db sqlite:////tmp/bench10k_rc.db demo --accounts 10000
  workstation --db sqlite:////tmp/bench10k_rc.db demo custodian-files --out /tmp/bench_rc_files
Then:
  python benchmarks/statement_load.py [--db URL] [--files DIR] [--pg URL]

For each file: parse (read_statement) and store (store_statement, in a transaction that is rolled
back, so the book is left as it was and the run can be repeated), wall and CPU seconds, then the
total against the 5 s target. `--pg URL` (an empty PostgreSQL database, e.g. a scratch one) also
times the store on PostgreSQL (COPY): the book's accounts are copied there first. The semt.002 file
is read in a forked child process started first (connectors.custodian.childread), while this one
parses and stores the others; its parse is the wait for the child's result (wall) and the child's
CPU plus the unpickling; `--no-child` reads it here, in order. `--reference`
also times the row-by-row reference readers for comparison. On a machine shared with other jobs
compare CPU seconds: wall time grows with the load average, printed before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.custodian.childread import ChildRead
from connectors.custodian.csvfile import read_csv_statement
from connectors.custodian.iso20022 import message_version
from connectors.custodian.profile import profile_for
from connectors.custodian.read import StatementFile, read_statement
from connectors.custodian.semt002 import read_semt002
from connectors.custodian.xmltree import Tree
from engine.reconcile.load import store_statement
from engine.reconcile.nogc import gc_paused
from engine.store.database import Database

OPS = "ada.admin"  # the demo admin: reconcile.load
FILES = (
    ("SIM-CUSTODIAN-A", "sim-custodian-a_positions.csv"),
    ("SIM-CUSTODIAN-A", "sim-custodian-a_cash.csv"),
    ("SIM-CUSTODIAN-B", "sim-custodian-b_positions.csv"),
    ("SIM-CUSTODIAN-B", "sim-custodian-b_cash.csv"),
    ("SIM-CUSTODIAN-C", "sim-custodian-c_semt002.xml"),
    ("SIM-CUSTODIAN-C", "sim-custodian-c_camt053.xml"),
)


class Clock:
    """Wall and CPU seconds of a step."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _cpu_with_children() -> float:
    """CPU seconds of this process and its reaped children (user + system)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _store(database: Database, f: StatementFile) -> Clock:
    with database.transaction() as s:
        with Clock() as c:
            # another hash than the file's: stored even if the book has loaded this file already
            store_statement(s, f.statement, f.name, hashlib.sha256(f.sha256.encode()).hexdigest(), OPS)
            s.flush()
        s.rollback()
    return c


def _reference(path: Path, custodian: str) -> Clock:
    """The row-by-row reference reading (CSV RowReader, semt.002 element reader)."""
    prof = profile_for(custodian)
    with Clock() as c, gc_paused():
        if path.suffix == ".csv":
            read_csv_statement(path, prof, slow=True)
        else:
            tree = Tree(path.name, path.read_bytes())
            version = message_version(tree)
            if version.message == "semt.002":
                read_semt002(tree, version, prof)
    return c


def _copy_book(src: Database, pg_url: str) -> Database:
    """A PostgreSQL book with the demo's users and accounts (what storing checks)."""
    from sqlalchemy import insert, select

    from engine.store.accounts import Account, Household
    from engine.store.migrate import upgrade
    from engine.store.people import User

    pg = Database(pg_url)
    upgrade(pg)
    with src.session() as a, pg.transaction() as b:
        if b.scalar(select(Account.id).limit(1)) is None:
            for table in (User.__table__, Household.__table__, Account.__table__):
                rows = [dict(r._mapping) for r in a.execute(select(table))]
                if table is Account.__table__:
                    rows = [{**r, "model_id": None} for r in rows]  # models are not needed to store lines
                b.execute(insert(table), rows)
    return pg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite:////tmp/bench10k_rc.db")
    ap.add_argument("--files", type=Path, default=Path("/tmp/bench_rc_files"))
    ap.add_argument("--pg", default=None, help="also store on this (scratch) PostgreSQL database")
    ap.add_argument("--reference", action="store_true", help="also time the row-by-row readers")
    ap.add_argument("--no-child", action="store_true", help="read the semt.002 file here, not in a child")
    args = ap.parse_args()
    load_before = Path("/proc/loadavg").read_text().strip()
    start_wall, start_cpu = time.perf_counter(), _cpu_with_children()
    child = None
    if not args.no_child:  # first, while this process is small
        child = ChildRead(args.files / FILES[4][1], profile_for(FILES[4][0]))
    database = Database(args.db)
    pg = _copy_book(database, args.pg) if args.pg else None
    rows: list[tuple[str, str, int, Clock, Clock, Clock | None, Clock | None]] = []
    end_wall = end_cpu = 0.0
    for cust, name in FILES:
        path = args.files / name
        with Clock() as parse:
            if child is not None and name == FILES[4][1]:
                with gc_paused():
                    f = child.result()
            else:
                f = read_statement(path, profile_for(cust))
        if child is not None and name == FILES[4][1]:
            parse.cpu += child.cpu
        store = _store(database, f)
        store_pg = _store(pg, f) if pg is not None else None
        ref = _reference(path, cust) if args.reference else None
        rows.append((name, f.statement.format, f.statement.lines, parse, store, store_pg, ref))
        end_wall, end_cpu = time.perf_counter() - start_wall, _cpu_with_children() - start_cpu
    print(f"\nstatement load benchmark: {args.files} into {args.db}\n")
    head = f"{'file':<32} {'format':<16} {'lines':>9} {'parse s':>15} {'store s':>15}"
    head += f" {'store PG s':>15}" if pg is not None else ""
    head += f" {'reference parse s':>18}" if args.reference else ""
    print(head + "\n" + " " * 59 + "wall / cpu      wall / cpu" + ("      wall / cpu" if pg else ""))
    tot = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    for name, fmt, n, parse, store, spg, ref in rows:
        line = f"{name:<32} {fmt:<16} {n:9,} {parse.wall:7.2f}/{parse.cpu:6.2f} {store.wall:7.2f}/{store.cpu:6.2f}"
        tot[0] += parse.wall
        tot[1] += parse.cpu
        tot[2] += store.wall
        tot[3] += store.cpu
        if spg is not None:
            line += f" {spg.wall:7.2f}/{spg.cpu:6.2f}"
            tot[4] += spg.wall
            tot[5] += spg.cpu
        if ref is not None:
            line += f" {ref.wall:8.2f}/{ref.cpu:7.2f}"
        print(line)
    lines = sum(r[2] for r in rows)
    print(
        f"{'total':<32} {'':<16} {lines:9,} {tot[0]:7.2f}/{tot[1]:6.2f} {tot[2]:7.2f}/{tot[3]:6.2f}"
        + (f" {tot[4]:7.2f}/{tot[5]:6.2f}" if pg is not None else "")
    )
    print(
        f"\nparse + store, SQLite: {tot[0] + tot[2]:.2f} s wall, {tot[1] + tot[3]:.2f} s CPU"
        + (f"; PostgreSQL: {tot[0] + tot[4]:.2f} s wall, {tot[1] + tot[5]:.2f} s CPU" if pg else "")
        + " (target: under 5 s)"
    )
    how = "semt.002 in a child process" if child is not None else "one process"
    split = f"; this process {end_cpu - child.cpu:.2f}, child {child.cpu:.2f}" if child is not None else ""
    print(f"end to end ({how}): {end_wall:.2f} s wall, {end_cpu:.2f} s CPU (this process + child{split})")
    print(f"load average before: {load_before}; after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
