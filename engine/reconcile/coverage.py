"""Which accounts a day's statements cover, and which get "no statement" instead of breaks.

A custodian may send a statement of part of its book (one file per account, files still on
their way). A positions statement covers the accounts it lists, a cash statement likewise; an
account of that custodian the book holds something in (positions, or cash) but which a kind of
statement the custodian sent leaves out is one "no statement" exception, never one break per
position it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from engine.reconcile.book import BookView

NO_STATEMENT = "no_statement"
KINDS = ("positions", "cash")
QTY_EPS = 1e-6
CASH_EPS = 1e-9
COLUMNS = ["custodian", "account_id", "account_code", "missing", "positions", "currencies", "explanation"]


@dataclass(frozen=True)
class Coverage:
    """Accounts compared per kind of statement, and the accounts left out (one row each)."""

    positions: pd.DataFrame  # custodian, account_id, account_code of the accounts a positions statement lists
    cash: pd.DataFrame  # the same for cash statements
    absent: pd.DataFrame  # COLUMNS: one row per account with no statement of a kind it needs

    def compared(self, kind: str) -> set[str]:
        """Codes of the accounts compared on a kind of statement (positions or cash)."""
        frame = self.cash if kind == "cash" else self.positions
        return set(frame["account_code"].tolist())


def coverage(book: BookView, pos_lines: pd.DataFrame, cash_lines: pd.DataFrame, as_of: date) -> Coverage:
    """The accounts each kind of statement covers and those absent from it.

    Only custodians that sent a kind of statement for the date are judged on that kind: a
    custodian that sent no cash file today reconciles no cash and reports no missing cash.
    """
    accts = book.accounts
    covered: dict[str, pd.DataFrame] = {}
    missing: dict[str, np.ndarray] = {}
    for kind, lines in zip(KINDS, (pos_lines, cash_lines)):
        listed = (
            np.unique(lines["account_id"].to_numpy(dtype=np.int64)) if len(lines) else np.zeros(0, np.int64)
        )
        sent = set(pd.unique(lines["custodian"])) if len(lines) else set()
        ids = accts["account_id"].to_numpy(dtype=np.int64)
        covered[kind] = accts[np.isin(ids, listed)][["custodian", "account_id", "account_code"]]
        judged = accts["custodian"].isin(sent).to_numpy() & ~np.isin(ids, listed)
        held = _positions(book) if kind == "positions" else _currencies(book)
        missing[kind] = ids[judged & (held.reindex(ids, fill_value=0).to_numpy() > 0)]
    n_pos, n_ccy = _positions(book), _currencies(book)
    rows = []
    absent_ids = np.union1d(missing["positions"], missing["cash"])
    sets = {k: set(v.tolist()) for k, v in missing.items()}
    by_id = accts.set_index("account_id")
    for aid in absent_ids.tolist():
        kinds = [k for k in KINDS if aid in sets[k]]
        cust, code = by_id.at[aid, "custodian"], by_id.at[aid, "account_code"]
        npos, nccy = int(n_pos.get(aid, 0)), int(n_ccy.get(aid, 0))
        what = " or ".join(kinds)
        rows.append(
            (cust, aid, code, kinds, npos, nccy,
             f"no {what} statement from {cust} for {as_of}: the book holds {npos} position(s) "
             f"and cash in {nccy} currency(ies) there; not compared")
        )  # fmt: skip
    absent = pd.DataFrame(rows, columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS)
    return Coverage(covered["positions"], covered["cash"], absent)


def _positions(book: BookView) -> pd.Series:
    """Book positions (settled, trade-date or pending non-zero) per account id."""
    bp = book.positions
    live = (bp[["td_qty", "settled_qty", "pending_qty"]].abs() > QTY_EPS).any(axis=1)
    return bp[live].groupby("account_id").size()


def _currencies(book: BookView) -> pd.Series:
    """Currencies with book cash (settled or pending non-zero) per account id."""
    bc = book.cash
    live = (bc["settled"].abs() > CASH_EPS) | (bc["pending"].abs() > CASH_EPS)
    return bc[live].groupby("account_id").size()
