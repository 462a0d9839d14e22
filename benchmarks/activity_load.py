"""Benchmark: load 20,000 custodian activity lines into the 10,000-account demo book.

Build the book once:  workstation --db sqlite:////tmp/activity-10k.db demo --accounts 10000
Then:                 python benchmarks/activity_load.py [--db URL] [--lines 20000] [--out DIR]

Writes one day of SIMULATED activity for the three demo custodians in their own formats (A: the
generic activity CSV; B: its German CSV profile; C: camt.053.001.08 cash entries plus a generic
CSV of its trades and transfers) from the book's accounts and lots: dividends with withholding,
interest, fees, deposits, withdrawals, trades away (buys and sells of held lots), transfers in
kind in and out, FX conversions. Times parsing and booking (engine.activity.load) per custodian,
then the same files again (the day cycle's re-run: "already loaded", nothing booked). Prints wall
and CPU seconds, lines per second, peak memory and the load average before and after. Re-running
against the same book books nothing: use a fresh copy of the book (or another --seed).
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.custodian.activity import read_activity_file
from engine.activity.load import book_activity_file
from engine.errors import ImportValidationError
from engine.model.currency import minor_units
from engine.store.database import Database
from engine.store.migrate import upgrade

OPS = "otto.ops"  # the demo's operations user: activity.load
DAY = date(2026, 10, 30)
SETTLE = date(2026, 11, 2)
MIX = {  # share of the lines per kind
    "dividend": 0.30, "interest": 0.05, "fee": 0.15, "deposit": 0.10, "withdrawal": 0.05, "buy": 0.15,
    "sell": 0.10, "transfer_in": 0.05, "transfer_out": 0.025, "fx": 0.025,
}  # fmt: skip
GENERIC = [
    "reference", "account", "kind", "trade_date", "settle_date", "id_type", "security_id", "quantity", "price",
    "commission", "currency", "amount", "gross", "withholding", "cost_basis", "acquired", "fx_rate",
    "counter_currency", "counter_amount", "description",
]  # fmt: skip
B_COLS = dict(
    reference="Buchungsreferenz", account="Depot", kind="Vorgang", trade_date="Handelstag", settle_date="Valuta",
    id_type="Kennungsart", security_id="Kennung", quantity="Stueck", price="Kurs", commission="Provision",
    currency="Waehrung", amount="Betrag", gross="Brutto", withholding="Quellensteuer", cost_basis="Einstandswert",
    acquired="Anschaffungsdatum", fx_rate="Devisenkurs", counter_currency="Gegenwaehrung",
    counter_amount="Gegenbetrag", description="Text",
)  # fmt: skip
B_KINDS = dict(buy="KAUF", sell="VERKAUF", dividend="DIVIDENDE", interest="ZINSEN", fee="GEBUEHR",
               deposit="EINZAHLUNG", withdrawal="AUSZAHLUNG", transfer_in="EINLIEFERUNG",
               transfer_out="AUSLIEFERUNG", fx="DEVISEN")  # fmt: skip
C_CODES = dict(dividend="SECU/CORP/DVCA", interest="ACMT/MCOP/INTR", fee="SECU/CUST/CHRG",
               deposit="PMNT/RCDT/ESCT", withdrawal="PMNT/ICDT/ESCT", fx="FORX/SPOT/OTHR")  # fmt: skip
CREDIT = {"dividend", "interest", "deposit"}


def money(x: float, ccy: str) -> Decimal:
    return Decimal(str(round(x, minor_units(ccy))))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def book_frames(database: Database) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts (code, custodian, base) and open positions (account, symbol, ids, currency, quantity, cost)."""
    with database.session() as s:
        accts = pd.DataFrame(s.execute(text("SELECT code, custodian, base_currency FROM accounts")).all(),
                             columns=["code", "custodian", "base"])  # fmt: skip
        pos = pd.DataFrame(
            s.execute(text(
                "SELECT a.code, s.symbol, s.isin, s.sedol, s.currency, SUM(l.quantity), AVG(l.unit_cost) "
                "FROM tax_lots l JOIN accounts a ON a.id = l.account_id JOIN securities s ON s.id = l.security_id "
                "GROUP BY a.code, s.symbol, s.isin, s.sedol, s.currency"
            )).all(),
            columns=["code", "symbol", "isin", "sedol", "currency", "quantity", "cost"],
        )  # fmt: skip
    pos["quantity"] = pos["quantity"].astype(float)
    pos["cost"] = pos["cost"].astype(float)
    return accts, pos.merge(accts, on="code")


def make_lines(
    accts: pd.DataFrame, pos: pd.DataFrame, n: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """n lines by the MIX, each a dict of our fields (plus custodian), references unique per run."""
    counts = {k: round(n * w) for k, w in MIX.items()}
    counts["dividend"] += n - sum(counts.values())
    # Sells and transfers out use distinct (account, security) pairs that hold at least 2 shares.
    held = (
        pos[pos["quantity"] >= 2]
        .sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        .reset_index(drop=True)
    )
    take = iter(range(len(held)))
    out: list[dict[str, Any]] = []

    def sec_fields(p: Any) -> dict[str, Any]:
        return dict(id_type="ISIN", security_id=p["isin"], currency=p["currency"])

    for kind, k in counts.items():
        for i in range(k):
            ref = f"{kind.upper()}-{DAY:%Y%m%d}-{i:06d}"
            if kind in ("sell", "transfer_out"):
                p = held.iloc[next(take)]
                a = dict(code=p.code, custodian=p.custodian, base=p.base)
            else:
                p = pos.iloc[int(rng.integers(len(pos)))]
                a = dict(code=p.code, custodian=p.custodian, base=p.base)
            line: dict[str, Any] = dict(reference=ref, account=a["code"], custodian=a["custodian"], kind=kind,
                                        trade_date=DAY)  # fmt: skip
            if kind == "dividend":
                gross = money(float(rng.uniform(10, 500)), p.currency)
                tax = money(float(gross) * 0.15, p.currency)
                line.update(sec_fields(p), gross=gross, withholding=tax, amount=gross - tax, settle_date=DAY)
            elif kind in ("interest", "fee", "deposit", "withdrawal"):
                line.update(currency=a["base"], amount=money(float(rng.uniform(5, 5000)), a["base"]))
            elif kind in ("buy", "sell"):
                qty = 1 + int(rng.integers(1, 50)) if kind == "buy" else max(1, int(p.quantity // 2))
                price = Decimal(str(round(p.cost * float(rng.uniform(0.8, 1.5)), 4)))
                line.update(sec_fields(p), quantity=Decimal(qty), price=price, commission=Decimal("4.95"),
                            settle_date=SETTLE)  # fmt: skip
            elif kind == "transfer_in":
                qty = int(rng.integers(10, 200))
                line.update(sec_fields(p), quantity=Decimal(qty), cost_basis=money(qty * p.cost * 0.7, p.currency),
                            acquired=date(2019, 1 + i % 12, 1 + i % 28), fx_rate=Decimal("1.0"))  # fmt: skip
            elif kind == "transfer_out":
                line.update(sec_fields(p), quantity=Decimal(max(1, int(p.quantity // 3))))
            else:  # fx: buy the base currency (EUR if the base is USD) for USD
                buy = a["base"] if a["base"] != "USD" else "EUR"
                amt = money(float(rng.uniform(1000, 20000)), buy)
                line.update(currency=buy, amount=amt, counter_currency="USD", counter_amount=money(float(amt) * 1.1, "USD"),
                            settle_date=SETTLE)  # fmt: skip
            out.append(line)
    return out


def _text(v: Any) -> str:
    return "" if v is None else (v.isoformat() if isinstance(v, date) else str(v))


def write_generic(path: Path, lines: list[dict[str, Any]], account: Callable[[str], str] = str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(GENERIC)
        for ln in lines:
            w.writerow([account(ln["account"]) if c == "account" else _text(ln.get(c)) for c in GENERIC])


def _eu(v: Any) -> str:
    if isinstance(v, date):
        return v.strftime("%d.%m.%Y")
    if isinstance(v, Decimal):
        return format(v, "f").replace(".", ",")
    return "" if v is None else str(v)


def write_b(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(list(B_COLS.values()))
        for ln in lines:
            row = {**ln, "account": "4711-" + ln["account"][1:], "kind": B_KINDS[ln["kind"]]}
            w.writerow([_eu(row.get(c)) for c in B_COLS])


def write_c_camt(path: Path, lines: list[dict[str, Any]]) -> None:
    """camt.053.001.08: one statement per account and currency, one entry per line."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt><GrpHdr>'
             f"<MsgId>SIMC-ACT-{DAY:%Y%m%d}</MsgId><CreDtTm>{DAY}T18:00:00</CreDtTm></GrpHdr>"]  # fmt: skip
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ln in lines:
        ccy = ln["counter_currency"] if ln["kind"] == "fx" else ln["currency"]
        by.setdefault((ln["account"], ccy), []).append(ln)
    for i, ((acct, ccy), group) in enumerate(sorted(by.items())):
        parts.append(f"<Stmt><Id>S{i}</Id><CreDtTm>{DAY}T18:00:00</CreDtTm><Acct><Id><Othr><Id>SIMC/{acct[1:]}</Id>"
                     f'</Othr></Id><Ccy>{ccy}</Ccy></Acct><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>'
                     f'<Amt Ccy="{ccy}">0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{DAY}</Dt></Dt></Bal>')  # fmt: skip
        for ln in group:
            d, f, s = C_CODES[ln["kind"]].split("/")
            fx = ln["kind"] == "fx"
            amount = ln["counter_amount"] if fx else ln["amount"]
            tx = ""
            if ln["kind"] == "dividend":
                tx = (f'<Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><AmtDtls><InstdAmt><Amt Ccy="{ccy}">'
                      f'{ln["gross"]}</Amt></InstdAmt></AmtDtls><FinInstrmId><ISIN>{ln["security_id"]}</ISIN></FinInstrmId>'
                      f'<Tax><TtlTaxAmt Ccy="{ccy}">{ln["withholding"]}</TtlTaxAmt></Tax>')  # fmt: skip
            elif fx:
                tx = (f'<Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><AmtDtls><CntrValAmt><Amt '
                      f'Ccy="{ln["currency"]}">{ln["amount"]}</Amt></CntrValAmt></AmtDtls>')  # fmt: skip
            parts.append(
                f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{"CRDT" if ln["kind"] in CREDIT else "DBIT"}'
                f"</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{DAY}</Dt></BookgDt><ValDt><Dt>"
                f"{ln.get('settle_date') or DAY}</Dt></ValDt><AcctSvcrRef>{ln['reference']}</AcctSvcrRef><BkTxCd><Domn>"
                f"<Cd>{d}</Cd><Fmly><Cd>{f}</Cd><SubFmlyCd>{s}</SubFmlyCd></Fmly></Domn></BkTxCd>"
                + (f"<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls>" if tx else "")
                + "</Ntry>"
            )
        parts.append("</Stmt>")
    parts.append("</BkToCstmrStmt></Document>")
    path.write_text("".join(parts), encoding="utf-8")


def write_files(out: Path, lines: list[dict[str, Any]]) -> list[tuple[str, Path, int]]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    a = [ln for ln in lines if ln["custodian"] == "SIM-CUSTODIAN-A"]
    b = [ln for ln in lines if ln["custodian"] == "SIM-CUSTODIAN-B"]
    c = [ln for ln in lines if ln["custodian"] == "SIM-CUSTODIAN-C"]
    c_cash = [ln for ln in c if ln["kind"] in C_CODES]
    c_sec = [ln for ln in c if ln["kind"] not in C_CODES]
    write_generic(out / "a_activity.csv", a)
    write_b(out / "b_umsaetze.csv", b)
    write_c_camt(out / "c_camt053.xml", c_cash)
    write_generic(out / "c_trades.csv", c_sec, account=lambda code: "SIMC/" + code[1:])
    return [("SIM-CUSTODIAN-A", out / "a_activity.csv", len(a)), ("SIM-CUSTODIAN-B", out / "b_umsaetze.csv", len(b)),
            ("SIM-CUSTODIAN-C", out / "c_camt053.xml", len(c_cash)), ("SIM-CUSTODIAN-C", out / "c_trades.csv", len(c_sec))]  # fmt: skip


def book(database: Database, parsed: Any, custodian: str) -> Any:
    """Book one parsed file in its own transaction; print its first problems if it is refused."""
    try:
        with database.transaction() as s:
            return book_activity_file(s, parsed, custodian=custodian, username=OPS,
                                      source_name=parsed.source_name, content_hash=parsed.content_hash)  # fmt: skip
    except ImportValidationError as exc:
        print("\n".join(exc.lines()[:10]), file=sys.stderr)
        raise


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--db", default="sqlite:////tmp/activity-10k.db")
    ap.add_argument("--out", type=Path, default=Path("/tmp/activity_bench_files"))
    ap.add_argument("--lines", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    load_before = Path("/proc/loadavg").read_text().strip()
    database = Database(args.db)
    upgrade(database)
    accts, pos = book_frames(database)
    lines = make_lines(accts, pos, args.lines, np.random.default_rng(args.seed))
    files = write_files(args.out, lines)
    rows = []
    for label in ("first load", "same files again"):
        for custodian, path, n in files:
            parsed, pw, pc = timed(lambda p=path, c=custodian: read_activity_file(p, c))  # type: ignore[misc]
            result, bw, bc = timed(lambda p=parsed, c=custodian: book(database, p, c))  # type: ignore[misc]
            rows.append((label, path.name, n, result.booked, result.already_loaded, pw, pc, bw, bc))
    print(f"{'run':17} {'file':17} {'lines':>6} {'booked':>6} {'again':>5} {'parse s':>8} {'cpu':>6} "
          f"{'book s':>8} {'cpu':>6} {'lines/s':>8}")  # fmt: skip
    for label, name, n, booked, again, pw, pc, bw, bc in rows:
        print(f"{label:17} {name:17} {n:6d} {booked:6d} {('yes' if again else 'no'):>5} {pw:8.2f} {pc:6.2f} "
              f"{bw:8.2f} {bc:6.2f} {n / (pw + bw):8.0f}")  # fmt: skip
    for label in ("first load", "same files again"):
        sel = [r for r in rows if r[0] == label]
        wall = sum(r[5] + r[7] for r in sel)
        cpu = sum(r[6] + r[8] for r in sel)
        print(f"{label}: {sum(r[2] for r in sel)} lines in {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(
        f"peak memory {rss_mb():.0f} MB; load average before {load_before}; after "
        f"{Path('/proc/loadavg').read_text().strip()}"
    )


if __name__ == "__main__":
    main()
