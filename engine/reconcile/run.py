"""Run a reconciliation for a statement date: read statements and book, match, keep the breaks.

Breaks are keyed by custodian, account, security, currency and type, so a difference that
persists day after day is one break that ages (opened on its first date, last seen on the
latest); one no longer found is closed as cleared by the run. Matched lines are counted in
the summary, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Numeric, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.reconcile.book import load_book
from engine.reconcile.match import (
    BREAK,
    DEFAULT_TOLERANCE,
    EXPLAINED,
    MATCHED,
    RESULT_COLUMNS,
    Tolerance,
    match_cash,
    match_positions,
)
from engine.reconcile.rawsql import csv_frame, int_list
from engine.reconcile.securities import identifier_table, resolve, resolve_announced_isins
from engine.reconcile.tables import Break, BreakComment, Run, Statement, StatementCash, StatementPosition
from engine.store.accounts import Account

OPEN_STATUSES = ("open", "investigating")


@dataclass
class RunResult:
    """Every outcome line of a run (matched included), the summary, and the stored break ids.

    `results.refs` is a list (trades or actions named) on lines that are not matched, None on
    matched lines.
    """

    as_of: date
    results: pd.DataFrame
    summary: pd.DataFrame
    break_ids: list[int]

    @property
    def breaks(self) -> pd.DataFrame:
        """Lines that are not matched (explained ones included), with their stored id."""
        return self.results[self.results["outcome"] != MATCHED]


def latest_lines(
    session: Session, as_of: date, kind: str, custodians: list[str] | None = None
) -> pd.DataFrame:
    """Statement lines for the date; per (custodian, account), only the latest file that has it.

    Columns: custodian, statement_id, account_id, account_code, then the kind's own (positions:
    security_ref, id_type, quantity, currency, market_value; cash: currency, amount), numbers as
    float64 and text as Python objects. Read through the driver cursor with the account id
    joined in SQL, so a million lines cost no per-row Python beyond the driver's tuples.
    """
    table = StatementPosition if kind == "positions" else StatementCash
    q = select(Statement.id, Statement.custodian).where(Statement.as_of == as_of, Statement.kind == kind)
    if custodians:
        q = q.where(Statement.custodian.in_(custodians))
    names = dict(session.execute(q).all())
    own = [c.name for c in table.__table__.columns if c.name not in ("id", "row", "custodian_account")]
    own = [c for c in own if c not in ("statement_id", "account_code")]
    spec = [("statement_id", "int"), ("account_code", "object")] + [
        (c, "float" if isinstance(table.__table__.c[c].type, Numeric) else "object") for c in own
    ]
    df = csv_frame(
        session,
        [f't."{c}"' for c, _ in spec],
        f"FROM {table.__tablename__} t WHERE t.statement_id IN ({int_list(names)})",
        spec,
    )
    sid = df["statement_id"].to_numpy(dtype=np.int64)
    stmt_codes, stmt_ids = pd.factorize(sid)
    custodian = np.array([names[int(i)] for i in stmt_ids], dtype=object)[stmt_codes]
    df.insert(0, "custodian", pd.Series(custodian, dtype=object, index=df.index))
    # Account ids by code, looked up once per distinct code (loading checked every code exists).
    acct_codes, acct_uniq = pd.factorize(df["account_code"].to_numpy(dtype=object))
    ids = dict(session.execute(select(Account.code, Account.id)).all())
    aid = np.array([ids.get(c, -1) for c in acct_uniq], dtype=np.int64)[acct_codes]
    df.insert(3, "account_id", pd.Series(aid, dtype=np.int64, index=df.index))
    if df.empty or len(set(names.values())) == len(names):
        return df
    # Several files of one custodian: per account, the latest file that has it (on integer keys).
    cust_codes, _ = pd.factorize(df["custodian"].to_numpy(dtype=object))
    key = cust_codes.astype(np.int64) * (int(aid.max()) + 1) + aid
    latest = pd.Series(sid).groupby(key).transform("max").to_numpy()
    return df[sid == latest].reset_index(drop=True)


def reconcile(
    session: Session,
    as_of: date,
    custodians: list[str] | None = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    run_by: str | None = None,
    persist: bool = True,
) -> RunResult:
    """Match every statement of `as_of` against the book; store breaks and the run when `persist`."""
    pos_lines = latest_lines(session, as_of, "positions", custodians)
    cash_lines = latest_lines(session, as_of, "cash", custodians)
    names = sorted({*pd.unique(pos_lines["custodian"]), *pd.unique(cash_lines["custodian"])})
    if not names:
        raise NotFound(f"no custodian statements loaded for {as_of}")
    book = load_book(session, as_of, names)
    parts = []
    if not pos_lines.empty:
        sid = resolve(identifier_table(session), pos_lines["id_type"], pos_lines["security_ref"])
        pos_lines["security_id"], pos_lines["via_action"] = resolve_announced_isins(
            book.renames, pos_lines["id_type"], pos_lines["security_ref"], sid
        )
        covered = book.accounts[book.accounts["custodian"].isin(set(pos_lines["custodian"]))]
        prices = last_prices(session, as_of)["close"]
        need_fx = pos_lines["market_value"].notna().any()
        fx = FxTable.load(session, start=as_of, end=as_of) if need_fx else None
        parts.append(match_positions(book, pos_lines, covered, as_of, prices, fx, tolerance))
    if not cash_lines.empty:
        covered = book.accounts[book.accounts["custodian"].isin(set(cash_lines["custodian"]))]
        parts.append(match_cash(book, cash_lines, covered))
    results = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RESULT_COLUMNS)
    summary = summarize(results)
    break_ids: list[int] = []
    if persist:
        break_ids = _persist(session, as_of, names, results)
        session.add(Run(as_of=as_of, run_by=run_by, summary=summary.to_dict("records")))
        session.flush()
    results = results.assign(break_id=pd.Series(dtype="Int64"))
    if break_ids:
        sel = results["outcome"] != MATCHED
        results.loc[sel, "break_id"] = break_ids
    return RunResult(as_of, results, summary, break_ids)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per custodian and currency: lines matched, explained and open breaks."""
    if results.empty:
        return pd.DataFrame(columns=["custodian", "currency", MATCHED, EXPLAINED, "open"])
    r = pd.DataFrame(
        {
            "custodian": results["custodian"].to_numpy(dtype=object),
            "currency": results["currency"].fillna("-").to_numpy(dtype=object),
            "outcome": results["outcome"].to_numpy(dtype=object),
        }
    )
    table = r.value_counts(sort=False).unstack("outcome", fill_value=0)
    for c in (MATCHED, EXPLAINED, BREAK):
        if c not in table:
            table[c] = 0
    table = table.rename(columns={BREAK: "open"})[[MATCHED, EXPLAINED, "open"]].sort_index().reset_index()
    table.columns.name = None
    return table.astype({MATCHED: int, EXPLAINED: int, "open": int})


def break_key(custodian: str, account: str, security: str | None, currency: str | None, kind: str) -> str:
    return f"{custodian}|{account}|{security or ''}|{currency or ''}|{kind}"


def _dec(x: object, places: str = "0.0001") -> Decimal | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return Decimal(repr(float(x))).quantize(Decimal(places))  # type: ignore[arg-type]


def _persist(session: Session, as_of: date, custodians: list[str], results: pd.DataFrame) -> list[int]:
    rows = results[results["outcome"] != MATCHED]
    keys = [
        break_key(c, a, s, ccy, t)
        for c, a, s, ccy, t in zip(
            rows["custodian"],
            rows["account_code"],
            rows["security_ref"],
            rows["currency"],
            rows["break_type"],
        )
    ]
    existing: dict[str, Break] = {}
    for chunk in range(0, len(keys), 500):
        for b in session.scalars(select(Break).where(Break.key.in_(keys[chunk : chunk + 500]))):
            existing[b.key] = b
    out: list[Break] = []
    for key, r in zip(keys, rows.itertuples(index=False)):
        b = existing.get(key)
        explained = r.outcome == EXPLAINED
        if b is None:
            b = Break(
                key=key,
                as_of=as_of,
                custodian=r.custodian,
                account_code=r.account_code,
                status="explained" if explained else "open",
                opened_on=as_of,
                last_seen=as_of,
            )
            session.add(b)
            existing[key] = b
        elif b.status == "resolved" and as_of > b.last_seen:
            b.status, b.resolution, b.resolved_at, b.resolved_by = (
                ("explained" if explained else "open"),
                None,
                None,
                None,
            )
            session.add(
                BreakComment(break_id=b.id, author="reconcile", text=f"found again on {as_of}: reopened")
            )
        if as_of >= b.last_seen:
            b.as_of = as_of
            b.last_seen = as_of
            b.security_id = None if pd.isna(r.security_id) else int(r.security_id)
            b.security_ref = r.security_ref
            b.currency = r.currency
            b.break_type = r.break_type
            b.book_value = _dec(r.book)
            b.custodian_value = _dec(r.statement)
            b.difference = _dec(r.difference)
            b.explanation = r.explanation
            b.refs = list(r.refs)
        out.append(b)
    session.flush()
    seen = {b.id for b in out}
    stale = session.scalars(
        select(Break).where(
            Break.custodian.in_(custodians),
            Break.status.in_((*OPEN_STATUSES, "explained")),
            Break.last_seen < as_of,
        )
    ).all()
    for b in stale:
        if b.id not in seen:
            b.status = "resolved"
            b.resolved_by = "reconcile"
            session.add(
                BreakComment(break_id=b.id, author="reconcile", text=f"no longer found on {as_of}: cleared")
            )
    session.flush()
    return [b.id for b in out]
