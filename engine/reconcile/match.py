"""Vectorized matching of custodian statements against the book (pandas, float64).

Every custodian line and every book position of an account the custodian reported ends in
exactly one outcome: matched, explained (pending settlement, corporate-action timing) or a
break (quantity, missing at custodian, missing in book, unknown security, valuation, cash).
The comparison is on the custodian's basis: settled. A difference equal to the trades still
to settle is explained and names them; one equal to a split taking effect within days of
the statement is explained and names the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from engine.model.currency import minor_units
from engine.pricing.fx import FxTable
from engine.pricing.valuation import pair_rates
from engine.reconcile.book import BookView

QTY_EPS = 1e-6
MATCHED, EXPLAINED, BREAK = "matched", "explained", "break"


class BreakType:
    """The kinds of outcome a reconciliation line can have (besides matched)."""

    QUANTITY = "quantity"
    MISSING_AT_CUSTODIAN = "missing_at_custodian"
    MISSING_IN_BOOK = "missing_in_book"
    UNKNOWN_SECURITY = "unknown_security"
    CASH = "cash"
    VALUATION = "valuation"
    PENDING_SETTLEMENT = "pending_settlement"
    CORPORATE_ACTION = "corporate_action_timing"

    ALL = (
        QUANTITY,
        MISSING_AT_CUSTODIAN,
        MISSING_IN_BOOK,
        UNKNOWN_SECURITY,
        CASH,
        VALUATION,
        PENDING_SETTLEMENT,
        CORPORATE_ACTION,
    )
    EXPLAINED = (PENDING_SETTLEMENT, CORPORATE_ACTION)


@dataclass(frozen=True)
class Tolerance:
    """Valuation differences within `relative` of the book value, or within `absolute`, are not breaks."""

    relative: float = 0.005
    absolute: float = 1.0


DEFAULT_TOLERANCE = Tolerance()

RESULT_COLUMNS = [
    "custodian",
    "account_id",
    "account_code",
    "security_id",
    "security_ref",
    "currency",
    "measure",
    "outcome",
    "break_type",
    "book",
    "statement",
    "difference",
    "explanation",
    "refs",
]


PK_SHIFT = np.int64(1 << 24)
OUTCOMES = np.array([MATCHED, EXPLAINED, BREAK], dtype=object)  # outcome codes 0, 1, 2
M, X, B = 0, 1, 2


def _pk(account_id: pd.Series, security_id: pd.Series) -> pd.Series:
    """A single int64 key for (account, security); security ids stay below 2**24."""
    return account_id.astype(np.int64) * PK_SHIFT + security_id.astype(np.int64)


def _table(values: pd.Series, fill: object = None) -> np.ndarray:
    """A dense array indexed by the (small, non-negative integer) index of `values`; `fill` elsewhere.

    One more slot at the end holds `fill`, for keys beyond the table (see `_at`).
    """
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    idx = values.index.to_numpy(dtype=np.int64)
    size = int(idx.max()) + 2 if len(idx) else 1
    table = np.full(size, np.nan if numeric else fill, dtype=float if numeric else object)
    table[idx] = values.to_numpy(dtype=float if numeric else object)
    return table


def _at(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """table[keys], keys beyond the table (or negative) reading its last (fill) slot."""
    last = len(table) - 1
    if not len(keys) or (keys.min() >= 0 and keys.max() <= last):
        return table[keys]
    return table[np.where((keys < 0) | (keys > last), last, keys)]


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct keys of two sorted int64 arrays, sorted (a merge: timsort finds the two runs)."""
    both = np.sort(np.concatenate([a, b]), kind="stable")
    return both[np.r_[True, both[1:] != both[:-1]]] if len(both) else both


def _fmt_qty(x: float) -> str:
    return f"{x:,.6f}".rstrip("0").rstrip(".")


def _pending_text(pending: pd.DataFrame, securities: pd.DataFrame) -> pd.Series:
    """One explanation per (account_id, security_id) naming each pending trade."""
    if pending.empty:
        return pd.Series(dtype=object)
    sym = pending["security_id"].map(securities["symbol"])
    text = (
        pending["side"].str.upper()
        + " "
        + pending["quantity"].map(_fmt_qty)
        + " "
        + sym.astype(str)
        + " traded "
        + pending["trade_date"].astype(str)
        + ", settles "
        + pending["settle_date"].astype(str)
        + " ("
        + pending["source_ref"]
        + ")"
    )
    frame = pending.assign(text=text, pk=_pk(pending["account_id"], pending["security_id"]))
    g = frame.groupby("pk")
    return pd.DataFrame({"text": g["text"].agg("; ".join), "refs": g["source_ref"].agg(list)})


def _statement_side(known: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Custodian lines keyed by sorted, distinct pk: quantities and market values summed over
    lines that name one position twice, currency and action taken from the first that has one."""
    order = np.argsort(known["pk"], kind="stable")
    out = {c: v[order] for c, v in known.items()}
    pk = out["pk"]
    starts = np.flatnonzero(np.r_[True, pk[1:] != pk[:-1]]) if len(pk) else np.zeros(0, dtype=np.int64)
    if len(starts) == len(pk):
        return out
    has_mv = ~np.isnan(out["market_value"])
    mv = np.add.reduceat(np.where(has_mv, out["market_value"], 0.0), starts)
    any_mv = np.add.reduceat(has_mv.astype(np.int64), starts) > 0
    grouped = {
        "pk": pk[starts],
        "quantity": np.add.reduceat(out["quantity"], starts),
        "market_value": np.where(any_mv, mv, np.nan),
    }
    ends = np.r_[starts[1:], len(pk)]
    for c in ("currency", "via_action"):
        first = out[c][starts].copy()
        for g in np.flatnonzero((ends - starts > 1) & pd.isna(first)):
            vals = [v for v in out[c][starts[g] : ends[g]] if pd.notna(v)]
            first[g] = vals[0] if vals else None
        grouped[c] = first
    return grouped


def match_positions(
    book: BookView,
    lines: pd.DataFrame,
    covered: pd.DataFrame,
    as_of: date,
    prices: pd.Series,
    fx: FxTable | None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
) -> pd.DataFrame:
    """Outcomes for positions (see `position_columns`), as a frame."""
    return frame_of(position_columns(book, lines, covered, as_of, prices, fx, tolerance))


def position_columns(
    book: BookView,
    lines: pd.DataFrame,
    covered: pd.DataFrame,
    as_of: date,
    prices: pd.Series,
    fx: FxTable | None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
) -> dict[str, np.ndarray]:
    """Outcomes for positions, one numpy array per result column.

    `lines`: custodian, account_id, account_code, security_id (float, NaN unknown), security_ref,
    id_type, quantity, currency, market_value. `covered`: custodian, account_id of every account
    whose custodian sent a holdings statement for the date. `prices`: close by security_id.
    Both sides are keyed by one int64 per (account, security), aligned by sorting (no hash join),
    and every column is a numpy array until the result frame is built once.
    """
    sid_all = lines["security_id"].to_numpy(dtype=float)
    is_known = ~np.isnan(sid_all)
    unknown = lines[~is_known]
    aid_k = lines["account_id"].to_numpy(dtype=np.int64)[is_known]
    cust = _statement_side(
        {
            "pk": aid_k * PK_SHIFT + sid_all[is_known].astype(np.int64),
            "quantity": lines["quantity"].to_numpy(dtype=float)[is_known],
            "market_value": lines["market_value"].to_numpy(dtype=float)[is_known],
            "currency": lines["currency"].to_numpy(dtype=object)[is_known],
            "via_action": (
                lines["via_action"].to_numpy(dtype=object)[is_known]
                if "via_action" in lines
                else np.full(int(is_known.sum()), None, dtype=object)
            ),
        }
    )
    bp = book.positions
    b_aid = bp["account_id"].to_numpy(dtype=np.int64)
    cov = _table(pd.Series(True, index=pd.Index(covered["account_id"].to_numpy(dtype=np.int64))), False)
    td_b, settled_b, pend_b = (bp[c].to_numpy(dtype=float) for c in ("td_qty", "settled_qty", "pending_qty"))
    keep = _at(cov, b_aid).astype(bool) & (
        (np.abs(td_b) > QTY_EPS) | (np.abs(settled_b) > QTY_EPS) | (np.abs(pend_b) > QTY_EPS)
    )
    bk = b_aid[keep] * PK_SHIFT + bp["security_id"].to_numpy(dtype=np.int64)[keep]
    td_b, settled_b, pend_b = td_b[keep], settled_b[keep], pend_b[keep]
    if len(bk) > 1 and not (bk[1:] > bk[:-1]).all():
        o = np.argsort(bk, kind="stable")
        bk, td_b, settled_b, pend_b = bk[o], td_b[o], settled_b[o], pend_b[o]
    pk = _sorted_union(cust["pk"], bk)
    n = len(pk)
    ci, bi = np.searchsorted(pk, cust["pk"]), np.searchsorted(pk, bk)
    present = np.zeros(n, dtype=bool)
    present[ci] = True
    stmt, settled, td, pend = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    stmt[ci] = cust["quantity"]
    settled[bi], td[bi], pend[bi] = settled_b, td_b, pend_b
    market_value = np.full(n, np.nan)
    market_value[ci] = cust["market_value"]
    line_ccy = np.full(n, None, dtype=object)
    line_ccy[ci] = cust["currency"]
    via_rows = ci[pd.notna(cust["via_action"])]
    via = dict(zip(via_rows.tolist(), cust["via_action"][pd.notna(cust["via_action"])]))
    aid, sid = pk // PK_SHIFT, pk % PK_SHIFT
    acct = book.accounts.set_index("account_id")
    sec = book.securities
    sec_ccy = _at(_table(sec["currency"]), sid)
    cols: dict[str, np.ndarray] = {
        "custodian": _at(_table(acct["custodian"]), aid),
        "account_id": aid,
        "account_code": _at(_table(acct["account_code"]), aid),
        "security_id": sid,
        "security_ref": _at(_table(sec["symbol"]), sid),
        "currency": np.where(pd.notna(line_ccy), line_ccy, sec_ccy),
    }
    diff = stmt - settled
    equal = np.abs(diff) <= QTY_EPS
    has_pending = np.abs(pend) > QTY_EPS
    outcome = np.where(equal, np.where(has_pending, X, M), B).astype(np.int8)
    btype = np.full(n, "", dtype=object)
    btype[equal & has_pending] = BreakType.PENDING_SETTLEMENT
    explanation = np.full(n, None, dtype=object)
    refs = np.full(n, None, dtype=object)
    unequal = np.flatnonzero(~equal)
    # Corporate-action timing: the custodian applied a split the book has not (or the reverse).
    near = book.splits[book.splits["near"]] if not book.splits.empty else book.splits
    if len(unequal) and not near.empty:
        cand = pd.DataFrame(
            {
                "i": unequal,
                "security_id": sid[unequal],
                "statement": stmt[unequal],
                "settled_qty": settled[unequal],
            }
        ).merge(near, on="security_id")
        f = cand["factor"].to_numpy(dtype=float)
        st, bk_q = cand["statement"].to_numpy(), cand["settled_qty"].to_numpy()
        hit = (np.abs(st - bk_q * f) <= QTY_EPS) | (np.abs(st - bk_q / f) <= QTY_EPS)
        # A reverse split pays fractions in cash: the custodian shows whole shares only.
        lieu = ~hit & (np.abs(st - np.floor(bk_q * np.minimum(f, 1 / f) + QTY_EPS)) <= QTY_EPS)
        lieu &= bk_q > QTY_EPS
        hit = (hit | lieu) & (np.abs(bk_q) > QTY_EPS)
        done: set[int] = set()
        for i, ref, ex, fac, frac in zip(
            cand["i"][hit], cand["ref"][hit], cand["ex_date"][hit], f[hit], lieu[hit]
        ):
            if i in done:
                continue
            done.add(i)
            outcome[i], btype[i] = X, BreakType.CORPORATE_ACTION
            what = f"split {ref} ({fac:g} for 1)" if fac >= 1 else f"reverse split {ref} (1 for {1 / fac:g})"
            explanation[i] = (
                f"corporate-action timing: {what} with ex-date {ex}; the custodian shows "
                f"{_fmt_qty(stmt[i])}{' (fractions in cash)' if frac else ''}, the book "
                f"{_fmt_qty(settled[i])} on {as_of}"
            )
            refs[i] = [ref]
    rest = np.zeros(n, dtype=bool)
    rest[unequal] = outcome[unequal] == B
    book_absent = (np.abs(settled) <= QTY_EPS) & (np.abs(td) <= QTY_EPS)
    btype[rest & ~present] = BreakType.MISSING_AT_CUSTODIAN
    btype[rest & present & book_absent] = BreakType.MISSING_IN_BOOK
    btype[rest & present & ~book_absent] = BreakType.QUANTITY
    # Pending trades: named on the lines they explain, and noted on breaks they do not.
    ptext = _pending_text(book.pending, sec)
    todo = np.flatnonzero(outcome != M)
    if len(ptext) and len(todo):
        at = ptext.index.get_indexer(pk[todo])
        for i, j in zip(todo[at >= 0], at[at >= 0]):
            text = ptext["text"].iat[j]
            if btype[i] == BreakType.PENDING_SETTLEMENT:
                explanation[i] = (
                    f"book {_fmt_qty(td[i])} on trade date, {_fmt_qty(settled[i])} settled; pending settlement: {text}"
                )
                refs[i] = list(ptext["refs"].iat[j])
            elif outcome[i] == B:
                explanation[i] = "also pending (does not explain it): " + str(text)
    # An ISIN change: the custodian already reports the new ISIN (resolved through the announced
    # action) while the book still holds the old one; the quantities agree.
    if via:
        rn = book.renames.set_index("ref")
        for i, ref in via.items():
            if outcome[i] != M:
                continue
            r = rn.loc[ref]
            outcome[i], btype[i] = X, BreakType.CORPORATE_ACTION
            explanation[i] = (
                f"corporate-action timing: ISIN change {ref} to {r['new_isin']} with ex-date {r['ex_date']}; "
                f"the custodian already reports the new ISIN, the book has not applied it on {as_of}"
            )
            refs[i] = [ref]
    # An ISIN change the book applied while the custodian still reports the old ISIN: the old
    # ISIN is unknown to the book (it keeps only the ISIN in force), so the unknown line is paired
    # with the renamed security's position in the same account when the quantities agree.
    unknown, pairs = _late_renames(aid, sid, settled, btype, unknown, book, as_of)
    for i, qty, old, ref, new_isin, ex in pairs:
        outcome[i], btype[i], present[i], stmt[i] = X, BreakType.CORPORATE_ACTION, True, qty
        explanation[i] = (
            f"corporate-action timing: ISIN change {ref} to {new_isin} with ex-date {ex}; the custodian "
            f"still reports {_fmt_qty(qty)} under the old ISIN {old} on {as_of}"
        )
        refs[i] = [ref]
    for kind, text in (
        (BreakType.MISSING_AT_CUSTODIAN, "the book holds it; the custodian reports no position"),
        (BreakType.MISSING_IN_BOOK, "the custodian reports it; the book holds none"),
        (BreakType.QUANTITY, "settled quantities differ"),
    ):
        sel = np.flatnonzero(btype == kind)
        explanation[sel[pd.isna(explanation[sel])]] = text
    matched = outcome == M
    cols.update(
        measure=np.full(n, "quantity", dtype=object),
        outcome=OUTCOMES[outcome],
        break_type=btype,
        book=settled,
        statement=np.where(present, stmt, np.nan),
        difference=stmt - settled,
        explanation=explanation,
        refs=refs,
    )
    val = _valuation(cols, sec, matched & ~np.isnan(market_value), market_value, as_of, prices, fx, tolerance)
    out = concat_columns([_unknown_rows(unknown), cols, val])
    # Matched lines carry no references; only the others get a list (a million lists cost seconds).
    ref_col = out["refs"]
    for i in np.flatnonzero(out["outcome"] != MATCHED):
        r = ref_col[i]
        ref_col[i] = list(r) if isinstance(r, list | tuple | np.ndarray) else []
    return out


def concat_columns(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Result columns of several parts, one after the other (each column concatenated once)."""
    parts = [p for p in parts if len(p["account_id"])]
    if not parts:
        return {c: np.zeros(0, dtype=object) for c in RESULT_COLUMNS}
    if len(parts) == 1:
        return {c: np.asarray(parts[0][c]) for c in RESULT_COLUMNS}
    out = {}
    for c in RESULT_COLUMNS:
        arrays = [np.asarray(p[c]) for p in parts]
        kinds = {a.dtype.kind for a in arrays}
        if "O" in kinds or (len(kinds) > 1 and not kinds <= {"i", "f"}):
            arrays = [a.astype(object) for a in arrays]
        out[c] = np.concatenate(arrays)
    return out


def frame_of(cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """The result columns as a frame; text stays Python objects (no string-dtype inference)."""
    return pd.DataFrame(
        {
            c: pd.Series(cols[c], dtype=object if cols[c].dtype == object else None, copy=False)
            for c in RESULT_COLUMNS
        },
        copy=False,
    )


def _unknown_rows(unknown: pd.DataFrame) -> dict[str, np.ndarray]:
    """An unknown-security break for each custodian line whose identifier matches nothing."""
    n = len(unknown)
    kind = unknown["id_type"].to_numpy(dtype=object)
    ref = unknown["security_ref"].to_numpy(dtype=object)
    qty = unknown["quantity"].to_numpy(dtype=float)
    return {
        "custodian": unknown["custodian"].to_numpy(dtype=object),
        "account_id": unknown["account_id"].to_numpy(dtype=np.int64),
        "account_code": unknown["account_code"].to_numpy(dtype=object),
        "security_id": np.full(n, np.nan),
        "security_ref": np.array([f"{k}:{r}" for k, r in zip(kind, ref)], dtype=object),
        "currency": unknown["currency"].to_numpy(dtype=object),
        "measure": np.full(n, "quantity", dtype=object),
        "outcome": np.full(n, BREAK, dtype=object),
        "break_type": np.full(n, BreakType.UNKNOWN_SECURITY, dtype=object),
        "book": np.full(n, np.nan),
        "statement": qty,
        "difference": qty,
        "explanation": np.array(
            [
                f"the custodian's {k} {r} matches no security in the book's reference data"
                for k, r in zip(kind, ref)
            ],
            dtype=object,
        ),
        "refs": _lists(n),
    }


def _lists(n: int) -> np.ndarray:
    """An object array of n empty lists."""
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = []
    return out


def _late_renames(
    aid: np.ndarray,
    sid: np.ndarray,
    settled: np.ndarray,
    btype: np.ndarray,
    unknown: pd.DataFrame,
    book: BookView,
    as_of: date,
) -> tuple[pd.DataFrame, list[tuple[int, float, str, str, str, date]]]:
    """Pair old-ISIN custodian lines with positions of securities whose ISIN the book changed.

    A pair is (row of the aligned positions, custodian quantity, old ISIN, action ref, new ISIN,
    ex-date); the unknown lines not paired are returned for unknown-security breaks.
    """
    rn = book.renames
    if unknown.empty or rn.empty:
        return unknown, []
    rn = rn[rn["applied"] & (rn["ex_date"] <= as_of)]
    isin = unknown[unknown["id_type"] == "ISIN"]
    missing = np.flatnonzero(btype == BreakType.MISSING_AT_CUSTODIAN)
    if rn.empty or isin.empty or not len(missing):
        return unknown, []
    cand = pd.DataFrame(
        {"i": missing, "account_id": aid[missing], "security_id": sid[missing], "settled": settled[missing]}
    ).merge(rn, on="security_id")
    if cand.empty:
        return unknown, []
    lines = isin[["account_id", "security_ref", "quantity"]].reset_index().rename(columns={"index": "u"})
    cand = cand.merge(lines, on="account_id")
    cand = cand[(cand["quantity"] - cand["settled"]).abs() <= QTY_EPS]
    cand = cand.drop_duplicates("i").drop_duplicates("u")
    pairs = [
        (int(r.i), float(r.quantity), str(r.security_ref), str(r.ref), str(r.new_isin), r.ex_date)
        for r in cand.itertuples(index=False)
    ]
    return unknown.drop(index=cand["u"].to_numpy()), pairs


def _valuation(
    cols: dict[str, np.ndarray],
    sec: pd.DataFrame,
    sel: np.ndarray,
    market_value: np.ndarray,
    as_of: date,
    prices: pd.Series,
    fx: FxTable | None,
    tol: Tolerance,
) -> dict[str, np.ndarray]:
    """A valuation break for each matched line (`sel`) whose market value is off beyond the tolerance.

    Prices and multipliers are gathered by security id, FX rates computed once per currency pair.
    """
    rows = np.flatnonzero(sel)
    sid = cols["security_id"][rows]
    px = _at(_table(prices.astype(float)), sid)
    mult = _at(_table(sec["multiplier"].astype(float)), sid)
    from_ccy, to_ccy = _at(_table(sec["currency"]), sid), cols["currency"][rows]
    if fx is None:
        if (from_ccy != to_ccy).any():
            raise ValueError("an FX table is needed to value lines in another currency")
        rate = np.ones(len(rows))
    else:
        rate = pair_rates(fx, from_ccy, to_ccy, as_of)
    qty = cols["statement"][rows]
    book_mv = qty * px * mult * rate
    cust_mv = market_value[rows]
    diff = cust_mv - book_mv
    bad = ~np.isnan(book_mv) & (np.abs(diff) > np.maximum(tol.relative * np.abs(book_mv), tol.absolute))
    rows, n = rows[bad], int(bad.sum())
    bm, cm, d, r, p, q, sc = (
        book_mv[bad],
        cust_mv[bad],
        diff[bad],
        rate[bad],
        px[bad],
        qty[bad],
        from_ccy[bad],
    )
    out = {
        c: cols[c][rows]
        for c in ("custodian", "account_id", "account_code", "security_id", "security_ref", "currency")
    }
    out.update(
        measure=np.full(n, "amount", dtype=object),
        outcome=np.full(n, BREAK, dtype=object),
        break_type=np.full(n, BreakType.VALUATION, dtype=object),
        book=bm,
        statement=cm,
        difference=d,
        explanation=np.array(
            [
                f"market value differs by {dd / b:+.2%} (beyond {tol.relative:.2%}): book {qq:g} x {pp:g} {s} x FX {rr:.6g} to {c}"
                for dd, b, qq, pp, s, rr, c in zip(d, bm, q, p, sc, r, out["currency"])
            ],
            dtype=object,
        ),
        refs=_lists(n),
    )
    return out


def match_cash(book: BookView, lines: pd.DataFrame, covered: pd.DataFrame) -> pd.DataFrame:
    """Outcomes for cash per account and currency (a currency missing on one side counts as zero).

    `lines`: custodian, account_id, account_code, currency, amount.
    """
    keys = ["account_id", "currency"]
    cust = lines.groupby(keys)["amount"].sum().rename("statement").to_frame()
    cust["present"] = True
    bc = book.cash.merge(covered[["account_id"]], on="account_id").set_index(keys)
    m = cust.join(bc, how="outer")
    m["present"] = m["present"].fillna(False).astype(bool)
    for c in ("statement", "settled", "pending"):
        m[c] = m[c].fillna(0.0).astype(float)
    m = m.reset_index()
    acct = book.accounts.set_index("account_id")
    m["account_code"] = m["account_id"].map(acct["account_code"])
    m["custodian"] = m["account_id"].map(acct["custodian"])
    codes, ccys = pd.factorize(m["currency"].to_numpy(dtype=object))
    half_unit = np.array([0.5 * 10.0 ** -minor_units(c) for c in ccys], dtype=float)[codes]
    diff = m["statement"].to_numpy() - m["settled"].to_numpy()
    equal = np.abs(diff) < half_unit + 1e-9
    pend = np.abs(m["pending"].to_numpy()) >= half_unit
    outcome = np.where(equal, np.where(pend, EXPLAINED, MATCHED), BREAK).astype(object)
    btype = np.where(equal, np.where(pend, BreakType.PENDING_SETTLEMENT, ""), BreakType.CASH).astype(object)
    m["outcome"], m["break_type"] = outcome, btype
    m["book"], m["difference"] = m["settled"], diff
    m["measure"] = "amount"
    m["security_id"] = np.nan
    m["security_ref"] = None
    m["explanation"] = None
    m["refs"] = [[] for _ in range(len(m))]
    pc = book.pending_cash
    if not pc.empty:
        pc = pc.assign(
            text=pc["amount"].map(lambda a: f"{a:,.2f}")
            + " settles "
            + pc["settle_date"].astype(str)
            + " ("
            + pc["source_ref"].fillna("no booking")
            + ")"
        )
        g = pc.groupby(keys)
        agg = pd.DataFrame(
            {"text": g["text"].agg("; ".join), "refs": g["source_ref"].agg(lambda s: [x for x in s if x])}
        )
        idx = pd.MultiIndex.from_frame(m[keys])
        pos = agg.index.get_indexer(idx)
        for i in np.flatnonzero((pos >= 0) & (outcome != MATCHED)):
            row = agg.iloc[pos[i]]
            prefix = (
                "pending settlement: "
                if btype[i] == BreakType.PENDING_SETTLEMENT
                else "also pending (does not explain it): "
            )
            m.at[i, "explanation"] = prefix + row["text"]
            m.at[i, "refs"] = list(row["refs"])
    _dividend_timing(m, outcome, btype, diff, half_unit, book.dividends)
    m["outcome"], m["break_type"] = outcome, btype
    sel = (btype == BreakType.CASH) & m["explanation"].isna().to_numpy()
    m.loc[sel, "explanation"] = "settled cash differs"
    m["statement"] = np.where(m["present"], m["statement"], np.nan)
    return m[RESULT_COLUMNS]


def _dividend_timing(
    m: pd.DataFrame,
    outcome: np.ndarray,
    btype: np.ndarray,
    diff: np.ndarray,
    half_unit: np.ndarray,
    dividends: pd.DataFrame,
) -> None:
    """Explain a cash difference equal to a dividend the custodian booked on another day.

    The custodian credits a dividend on its pay date; the book books it on the ex-date, settling
    on the pay date, or has not applied it yet. A difference of plus or minus one dividend's net
    (or gross) amount in that account and currency, to one minor unit, is corporate-action timing
    naming the action. Changes `outcome`, `btype` and the explanation in place.
    """
    todo = np.flatnonzero(outcome == BREAK)
    if dividends.empty or not len(todo):
        return
    cand = pd.DataFrame(
        {
            "i": todo,
            "account_id": m["account_id"].to_numpy()[todo],
            "currency": m["currency"].to_numpy()[todo],
        }
    ).merge(dividends, on=["account_id", "currency"])
    if cand.empty:
        return
    d = diff[cand["i"].to_numpy()]
    tol = 2 * half_unit[cand["i"].to_numpy()] + 1e-9
    for col in ("net", "gross"):
        cand[col + "_hit"] = np.abs(np.abs(d) - cand[col].abs().to_numpy()) <= tol
    cand = cand[cand["net_hit"] | cand["gross_hit"]].drop_duplicates("i")
    for r in cand.itertuples(index=False):
        i = int(r.i)
        amount = r.net if r.net_hit else r.gross
        early = diff[i] > 0
        if r.applied:
            book_side = (
                f"the book booked it on the ex-date {r.ex_date}, settling on the pay date {r.pay_date}"
            )
        else:
            book_side = f"the book has not applied it yet (ex-date {r.ex_date}, pay date {r.pay_date})"
        outcome[i], btype[i] = EXPLAINED, BreakType.CORPORATE_ACTION
        m.at[i, "explanation"] = (
            f"corporate-action timing: dividend {r.ref} ({r.per_share:g} per share), "
            f"{'net' if r.net_hit else 'gross'} {amount:,.2f} {r.currency} "
            f"{'credited by the custodian already' if early else 'not yet credited by the custodian'}; "
            + book_side
        )
        m.at[i, "refs"] = [r.ref]
