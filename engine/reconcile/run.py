"""Run a reconciliation for a statement date: read statements and book, match, keep the breaks.

Breaks are keyed by custodian, account, security, currency and type, so a difference that
persists day after day is one break that ages (opened on its first date, last seen on the
latest); one no longer found is closed as cleared by the run. Matched lines are counted in
the summary, not stored.

A run that stores its breaks is an act of a signed-in user with reconcile.run: every break it
opens, clears or finds again moves through the break's state machine (engine.state.breaks) with
its audit entry, and the run itself is audited (`reconcile.run`: as-of, custodians, counts), all
in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.reconcile.book import load_book
from engine.reconcile.coverage import COLUMNS as ABSENT_COLUMNS
from engine.reconcile.coverage import NO_STATEMENT, Coverage, coverage
from engine.reconcile.match import (
    DEFAULT_TOLERANCE,
    EXPLAINED,
    MATCHED,
    RESULT_COLUMNS,
    Tolerance,
    concat_columns,
    frame_of,
    match_cash,
    position_columns,
)
from engine.reconcile.rawsql import csv_frame, int_list, scaled
from engine.reconcile.securities import identifier_table, resolve, resolve_announced_isins
from engine.reconcile.tables import Break, BreakComment, Run, Statement, StatementCash, StatementPosition
from engine.state.breaks import BREAKS, OPEN
from engine.state.breaks import EXPLAINED as EXPLAINED_STATUS
from engine.store.accounts import Account

OPEN_STATUSES = ("open", "investigating")
QTY_PLACES, AMOUNT_PLACES = 6, 4  # the scales of Quantity() and Amount() columns


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
    # One row per account its custodian's statements leave out (coverage.COLUMNS + break_id).
    no_statement: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=[*ABSENT_COLUMNS, "break_id"])
    )

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
    float64 and text as Python objects. The database writes the lines as CSV text (numbers as
    whole minor units, the identifier as one "ID_TYPE:REF" field) and pandas' C reader parses
    it with the text columns as categoricals, so each distinct account code, identifier and
    currency is a Python string once, not once per line.
    """
    table = StatementPosition if kind == "positions" else StatementCash
    q = select(Statement.id, Statement.custodian).where(Statement.as_of == as_of, Statement.kind == kind)
    if custodians:
        q = q.where(Statement.custodian.in_(custodians))
    names = dict(session.execute(q).all())
    if kind == "positions":
        exprs = ["t.statement_id", "t.account_code", "t.id_type || ':' || t.security_ref",
                 scaled(session, "t.quantity", QTY_PLACES), "t.currency",
                 scaled(session, "t.market_value", AMOUNT_PLACES)]  # fmt: skip
        spec = [("statement_id", "int"), ("account_code", "category"), ("ref", "category"),
                ("quantity", "float"), ("currency", "category"), ("market_value", "float")]  # fmt: skip
        units = {"quantity": 10.0**QTY_PLACES, "market_value": 10.0**AMOUNT_PLACES}
    else:
        exprs = ["t.statement_id", "t.account_code", "t.currency", scaled(session, "t.amount", AMOUNT_PLACES)]
        spec = [("statement_id", "int"), ("account_code", "category"), ("currency", "category"),
                ("amount", "float")]  # fmt: skip
        units = {"amount": 10.0**AMOUNT_PLACES}
    raw = csv_frame(
        session, exprs, f"FROM {table.__tablename__} t WHERE t.statement_id IN ({int_list(names)})", spec
    )
    sid = raw["statement_id"].to_numpy(dtype=np.int64)
    acct_codes, acct_labels = _cat(raw["account_code"])
    ids = dict(session.execute(select(Account.code, Account.id)).all())
    aid = np.array([ids.get(c, -1) for c in acct_labels], dtype=np.int64)[acct_codes] if len(sid) else sid
    stmt_ids = np.array(sorted(names), dtype=np.int64)
    stmt_cust = np.array([names[int(i)] for i in stmt_ids], dtype=object)
    cols: dict[str, object] = {
        "custodian": stmt_cust[np.searchsorted(stmt_ids, sid)],
        "statement_id": sid,
        "account_id": aid,
        "account_code": _labels(acct_codes, acct_labels),
    }
    if kind == "positions":
        ref_codes, refs = _cat(raw["ref"])
        kinds, _, values = zip(*(r.partition(":") for r in refs)) if len(refs) else ((), (), ())
        cols["security_ref"] = _labels(ref_codes, list(values))
        cols["id_type"] = _labels(ref_codes, list(kinds))
    cols["currency"] = _labels(*_cat(raw["currency"]))
    for c, unit in units.items():
        cols[c] = raw[c].to_numpy(dtype=float) / unit
    df = pd.DataFrame({c: pd.Series(v, dtype=None if c in units or c.endswith("_id") else object, copy=False)
                       for c, v in cols.items()}, copy=False)  # fmt: skip
    if df.empty or len(set(names.values())) == len(names):
        return df
    # Several files of one custodian: per account, the latest file that has it (on integer keys).
    cust_codes, _ = pd.factorize(df["custodian"].to_numpy(dtype=object))
    key = cust_codes.astype(np.int64) * (int(aid.max()) + 1) + aid
    latest = pd.Series(sid).groupby(key).transform("max").to_numpy()
    return df[sid == latest].reset_index(drop=True)


def _cat(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and labels (an object array) of a categorical column."""
    return values.cat.codes.to_numpy(dtype=np.int64), values.cat.categories.to_numpy(dtype=object)


def _labels(codes: np.ndarray, labels: np.ndarray | list[str]) -> np.ndarray:
    """Object array of labels by code (None for -1): each distinct string shared, not copied."""
    table = np.empty(len(labels) + 1, dtype=object)
    table[: len(labels)] = labels
    return table[codes]


def reconcile(
    session: Session,
    as_of: date,
    custodians: list[str] | None = None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    run_by: str | None = None,
    persist: bool = True,
) -> RunResult:
    """Match every statement of `as_of` against the book; store breaks and the run when `persist`
    (then `run_by` must be a signed-in user with reconcile.run: PermissionDenied otherwise)."""
    if persist:
        require(session, run_by or "(nobody)", Permission.RECONCILE_RUN)
    pos_lines = latest_lines(session, as_of, "positions", custodians)
    cash_lines = latest_lines(session, as_of, "cash", custodians)
    names = sorted({*pd.unique(pos_lines["custodian"]), *pd.unique(cash_lines["custodian"])})
    if not names:
        raise NotFound(f"no custodian statements loaded for {as_of}")
    book = load_book(session, as_of, names)
    cover = coverage(book, pos_lines, cash_lines, as_of)
    parts = []
    if not pos_lines.empty:
        sid = resolve(identifier_table(session), pos_lines["id_type"], pos_lines["security_ref"])
        pos_lines["security_id"], pos_lines["via_action"] = resolve_announced_isins(
            book.renames, pos_lines["id_type"], pos_lines["security_ref"], sid
        )
        covered = cover.positions
        prices = last_prices(session, as_of)["close"]
        need_fx = pos_lines["market_value"].notna().any()
        fx = FxTable.load(session, start=as_of, end=as_of) if need_fx else None
        parts.append(position_columns(book, pos_lines, covered, as_of, prices, fx, tolerance))
    if not cash_lines.empty:
        cash = match_cash(book, cash_lines, cover.cash)
        parts.append({c: cash[c].to_numpy() for c in RESULT_COLUMNS})
    results = frame_of(concat_columns(parts))
    summary = summarize(results)
    break_ids: list[int] = []
    absent = cover.absent.assign(break_id=None)
    if persist:
        assert run_by is not None  # required above
        break_ids, absent_ids = _persist(session, as_of, names, results, cover, run_by)
        absent["break_id"] = absent_ids
        run = Run(as_of=as_of, run_by=run_by, summary=summary.to_dict("records"))
        session.add(run)
        session.flush()
        outcome = results["outcome"]
        record(session, run_by, "reconcile.run", "recon_run", run.id, None,
               {"as_of": as_of, "custodians": names, "lines": len(results),
                "matched": int((outcome == MATCHED).sum()), "explained": int((outcome == EXPLAINED).sum()),
                "open": int((outcome == "break").sum()), "breaks": len(break_ids),
                "no_statement": absent["account_code"].tolist()})  # fmt: skip
    # The stored id on each line that is not matched (a column added in place: no frame copy).
    values, missing = np.zeros(len(results), dtype=np.int64), np.ones(len(results), dtype=bool)
    if break_ids:
        sel = (results["outcome"] != MATCHED).to_numpy()
        values[sel], missing[sel] = break_ids, False
    results["break_id"] = pd.arrays.IntegerArray(values, missing)
    return RunResult(as_of, results, summary, break_ids, absent)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Per custodian and currency: lines matched, explained and open breaks.

    Counted on integer codes (one factorize per column, then a bincount): a groupby over three
    text columns of a million lines cost more than half a second.
    """
    if results.empty:
        return pd.DataFrame(columns=["custodian", "currency", MATCHED, EXPLAINED, "open"])
    cust_codes, custs = pd.factorize(results["custodian"].to_numpy(dtype=object))
    ccy = results["currency"].to_numpy(dtype=object)
    ccy = np.where(pd.isna(ccy), "-", ccy)
    ccy_codes, ccys = pd.factorize(ccy)
    outcome = results["outcome"].to_numpy(dtype=object)
    out_codes = np.where(outcome == MATCHED, 0, np.where(outcome == EXPLAINED, 1, 2))
    key = (cust_codes.astype(np.int64) * len(ccys) + ccy_codes) * 3 + out_codes
    counts = np.bincount(key, minlength=len(custs) * len(ccys) * 3).reshape(len(custs), len(ccys), 3)
    ci, ki = np.nonzero(counts.sum(axis=2))
    table = pd.DataFrame(
        {
            "custodian": pd.Series(np.asarray(custs, dtype=object)[ci], dtype=object),
            "currency": pd.Series(np.asarray(ccys, dtype=object)[ki], dtype=object),
            MATCHED: counts[ci, ki, 0].astype(int),
            EXPLAINED: counts[ci, ki, 1].astype(int),
            "open": counts[ci, ki, 2].astype(int),
        }
    )
    return table.sort_values(["custodian", "currency"], ignore_index=True)


def break_key(custodian: str, account: str, security: str | None, currency: str | None, kind: str) -> str:
    return f"{custodian}|{account}|{security or ''}|{currency or ''}|{kind}"


def _dec(x: object, places: str = "0.0001") -> Decimal | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    return Decimal(repr(float(x))).quantize(Decimal(places))  # type: ignore[arg-type]


def _persist(
    session: Session, as_of: date, custodians: list[str], results: pd.DataFrame, cover: Coverage, run_by: str
) -> tuple[list[int], list[int]]:
    """Store the run's breaks as `run_by`: new ones open (or explained), resolved ones found again
    reopen, and open ones no longer found are cleared; each move audited by the break machine.

    An account no statement covered gets one `no_statement` break (its ids are returned second);
    its other breaks are neither found again nor cleared: nothing was compared."""
    rows = _with_absent(results[results["outcome"] != MATCHED], cover.absent)
    n_lines = len(rows) - len(cover.absent)
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
        for known in session.scalars(select(Break).where(Break.key.in_(keys[chunk : chunk + 500]))):
            existing[known.key] = known
    out: list[Break] = []
    new: list[tuple[Break, str]] = []
    again: dict[bool, list[Break]] = {True: [], False: []}
    for key, r in zip(keys, rows.itertuples(index=False)):
        b = existing.get(key)
        explained = r.outcome == EXPLAINED
        if b is None:
            b = Break(key=key, as_of=as_of, custodian=r.custodian, account_code=r.account_code,
                      opened_on=as_of, last_seen=as_of)  # fmt: skip
            new.append((b, EXPLAINED_STATUS if explained else OPEN))
            existing[key] = b
        elif BREAKS.allows(b.status, "reappear") and as_of > b.last_seen:
            again[bool(explained)].append(b)
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
    found = {"as_of": as_of}
    BREAKS.start_many(session, new, actor=run_by, event="open", detail=found)
    cleared = {"resolution": None, "resolved_by": None, "resolved_at": None}
    for explained, objs in again.items():
        BREAKS.fire_many(session, objs, "reappear", actor=run_by, detail=found, also=cleared,
                         facts={"explained": explained})  # fmt: skip
    seen = {b.id for b in out}
    compared = _compared_codes(cover)
    stale = [
        b
        for b in session.scalars(
            select(Break).where(
                Break.custodian.in_(custodians),
                Break.status.in_((*OPEN_STATUSES, EXPLAINED_STATUS)),
                Break.last_seen < as_of,
            )
        )
        if b.id not in seen and b.account_code in compared[_kind(b)]
    ]
    for b in stale:
        session.add(
            BreakComment(break_id=b.id, author="reconcile", text=f"no longer found on {as_of}: cleared")
        )
    BREAKS.fire_many(session, stale, "clear", actor=run_by, detail=found, also={"resolved_by": "reconcile"})
    session.flush()
    ids = [b.id for b in out]
    return ids[:n_lines], ids[n_lines:]


def _with_absent(rows: pd.DataFrame, absent: pd.DataFrame) -> pd.DataFrame:
    """The break lines, then one `no_statement` line per account left out of the statements."""
    if absent.empty:
        return rows
    n = len(absent)
    extra = pd.DataFrame(
        {
            "custodian": absent["custodian"].to_numpy(dtype=object),
            "account_id": absent["account_id"].to_numpy(dtype=np.int64),
            "account_code": absent["account_code"].to_numpy(dtype=object),
            "security_id": np.full(n, np.nan),
            "security_ref": np.full(n, None, dtype=object),
            "currency": np.full(n, None, dtype=object),
            "measure": np.full(n, "positions", dtype=object),
            "outcome": np.full(n, "break", dtype=object),
            "break_type": np.full(n, NO_STATEMENT, dtype=object),
            "book": absent["positions"].to_numpy(dtype=float),
            "statement": np.full(n, np.nan),
            "difference": np.full(n, np.nan),
            "explanation": absent["explanation"].to_numpy(dtype=object),
            "refs": [[] for _ in range(n)],
        }
    )
    return pd.concat([rows, extra], ignore_index=True)


def _kind(b: Break) -> str:
    """Which statement a break was found on: cash lines (no security) on cash, the rest on positions."""
    if b.break_type == NO_STATEMENT:
        return NO_STATEMENT
    return (
        "cash"
        if b.break_type == "cash" or (b.security_ref is None and b.security_id is None)
        else "positions"
    )


def _compared_codes(cover: Coverage) -> dict[str, set[str]]:
    """Account codes whose open breaks of each kind a run may clear: compared on that kind
    (positions or cash); a `no_statement` break clears once its account is no longer left out."""
    pos, cash = cover.compared("positions"), cover.compared("cash")
    return {"positions": pos, "cash": cash, NO_STATEMENT: (pos | cash) - set(cover.absent["account_code"])}
