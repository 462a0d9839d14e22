"""Write one history date's inbox as the custodians and the data vendor would send it (SIMULATED).

    INBOX/<custodian>/activity/activity-<date>.csv   deposits, withdrawals, fees, FX conversions:
        SIM-CUSTODIAN-A and -C (its SIMC/ account numbers) in the generic activity CSV, -B in its own German CSV (its profile)
    INBOX/corporate/actions-<date>.csv               the vendor's corporate-action file

The day cycle's load step reads them through the same readers as any real file.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd

from engine.corporate.csvfile import COLUMNS as ACTION_COLUMNS
from engine.corporate.terms import ActionTerms

GENERIC = ("reference", "account", "kind", "trade_date", "currency", "amount", "counter_currency",
           "counter_amount", "description")  # fmt: skip
B_COLUMNS = {"reference": "Buchungsreferenz", "account": "Depot", "kind": "Vorgang", "trade_date": "Handelstag",
             "currency": "Waehrung", "amount": "Betrag", "counter_currency": "Gegenwaehrung",
             "counter_amount": "Gegenbetrag", "description": "Text"}  # fmt: skip
B_KINDS = {"deposit": "EINZAHLUNG", "withdrawal": "AUSZAHLUNG", "fee": "GEBUEHR", "fx": "DEVISEN"}
B_CUSTODIAN, C_CUSTODIAN = "SIM-CUSTODIAN-B", "SIM-CUSTODIAN-C"


def _eu(x: Decimal | str) -> str:
    """1234.56 -> '1.234,56' (B's number format)."""
    if x == "" or x is None:
        return ""
    sign, digits = ("", str(x)) if not str(x).startswith("-") else ("-", str(x)[1:])
    whole, _, frac = digits.partition(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return sign + groups + ("," + frac if frac else "")


def _b_account(code: str) -> str:
    return f"4711-{code[1:]}"


def write_activity(inbox: Path, day: date, lines: pd.DataFrame) -> int:
    """One activity file per custodian with lines on `day`; returns the files written.
    `lines`: custodian plus the GENERIC columns (amounts as Decimal, text else)."""
    written = 0
    for custodian, part in lines.groupby("custodian", sort=True):
        folder = inbox / str(custodian) / "activity"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"activity-{day.isoformat()}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            if custodian == B_CUSTODIAN:
                w = csv.writer(fh, delimiter=";")
                w.writerow([B_COLUMNS[c] for c in GENERIC])
                for r in part.itertuples(index=False):
                    w.writerow([r.reference, _b_account(r.account), B_KINDS[r.kind], r.trade_date.strftime("%d.%m.%Y"),
                                r.currency, _eu(r.amount), r.counter_currency, _eu(r.counter_amount),
                                r.description])  # fmt: skip
            else:
                w = csv.writer(fh)
                w.writerow(GENERIC)
                for r in part.itertuples(index=False):
                    account = f"SIMC/{r.account[1:]}" if custodian == C_CUSTODIAN else r.account
                    w.writerow([r.reference, account, r.kind, r.trade_date.isoformat(), r.currency, r.amount,
                                r.counter_currency, r.counter_amount, r.description])  # fmt: skip
        written += 1
    return written


def write_actions(inbox: Path, day: date, actions: list[ActionTerms]) -> int:
    """The vendor's corporate-action file for `day` (engine.corporate.csvfile's columns)."""
    if not actions:
        return 0
    folder = inbox / "corporate"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"actions-{day.isoformat()}.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(ACTION_COLUMNS)
        for t in actions:
            d = t.as_dict()
            w.writerow(["" if d.get(c) is None else str(d[c]) for c in ACTION_COLUMNS])
    return 1
