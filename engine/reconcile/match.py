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


def _pk(account_id: pd.Series, security_id: pd.Series) -> pd.Series:
    """A single int64 key for (account, security); security ids stay below 2**24."""
    return account_id.astype(np.int64) * PK_SHIFT + security_id.astype(np.int64)


def _take(values: pd.Series, keys: np.ndarray) -> np.ndarray:
    """values[key] for small non-negative integer keys, by array indexing (None/NaN if absent)."""
    numeric = pd.api.types.is_float_dtype(values.dtype)
    size = int(max(values.index.max() if len(values) else 0, keys.max() if len(keys) else 0)) + 1
    table = np.full(size, np.nan if numeric else None, dtype=float if numeric else object)
    table[values.index.to_numpy(dtype=np.int64)] = values.to_numpy(dtype=float if numeric else object)
    return table[keys.astype(np.int64)]


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


def match_positions(
    book: BookView,
    lines: pd.DataFrame,
    covered: pd.DataFrame,
    as_of: date,
    prices: pd.Series,
    fx: FxTable | None,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
) -> pd.DataFrame:
    """Outcomes for positions.

    `lines`: custodian, account_id, account_code, security_id (float, NaN unknown), security_ref,
    id_type, quantity, currency, market_value. `covered`: custodian, account_id of every account
    whose custodian sent a holdings statement for the date. `prices`: close by security_id.
    """
    out: list[pd.DataFrame] = []
    unknown = lines[lines["security_id"].isna()]
    known = lines[lines["security_id"].notna()].copy()
    if "via_action" not in known:
        known["via_action"] = None
    known["security_id"] = known["security_id"].astype(np.int64)
    # One int64 key per (account, security): joins on it are several times faster than on pairs.
    known["pk"] = _pk(known["account_id"], known["security_id"])
    if known["pk"].duplicated().any():
        g = known.groupby("pk", sort=False)
        cust = pd.DataFrame(
            {
                "statement": g["quantity"].sum(),
                "market_value": g["market_value"].sum(min_count=1),
                "line_ccy": g["currency"].first(),
                "custodian": g["custodian"].first(),
                "via_action": g["via_action"].first(),
            }
        )
    else:
        cust = known.set_index("pk")[
            ["quantity", "market_value", "currency", "custodian", "via_action"]
        ].rename(columns={"quantity": "statement", "currency": "line_ccy"})
    cust["present"] = True
    bpos = book.positions[book.positions["account_id"].isin(covered["account_id"])]
    bpos = bpos.set_index(_pk(bpos["account_id"], bpos["security_id"]).rename("pk"))[
        ["td_qty", "settled_qty", "pending_qty"]
    ]
    bpos = bpos[
        (bpos["td_qty"].abs() > QTY_EPS)
        | (bpos["settled_qty"].abs() > QTY_EPS)
        | (bpos["pending_qty"].abs() > QTY_EPS)
    ]
    m = cust.join(bpos, how="outer")
    m["present"] = m["present"].fillna(False).astype(bool)
    for c in ("statement", "td_qty", "settled_qty", "pending_qty"):
        m[c] = m[c].fillna(0.0).astype(float)
    m = m.reset_index().rename(columns={"index": "pk"})
    m["account_id"] = (m["pk"] // PK_SHIFT).astype(np.int64)
    m["security_id"] = (m["pk"] % PK_SHIFT).astype(np.int64)
    acct = book.accounts.set_index("account_id")
    aid, sid = m["account_id"].to_numpy(), m["security_id"].to_numpy()
    sec = book.securities
    sec_ccy = _take(sec["currency"], sid)
    line_ccy = m["line_ccy"].to_numpy(dtype=object)
    # Text columns stay Python objects: pandas 3 would otherwise infer (and re-scan) a string dtype.
    for name, values in (
        ("account_code", _take(acct["account_code"], aid)),
        ("custodian", _take(acct["custodian"], aid)),
        ("symbol", _take(sec["symbol"], sid)),
        ("sec_ccy", sec_ccy),
        ("currency", np.where(pd.notna(line_ccy), line_ccy, sec_ccy)),
    ):
        m[name] = pd.Series(values, index=m.index, dtype=object)
    m["multiplier"] = _take(sec["multiplier"], sid)
    stmt, settled, td, pend = (
        m[c].to_numpy(dtype=float).copy() for c in ("statement", "settled_qty", "td_qty", "pending_qty")
    )
    present = m["present"].to_numpy(dtype=bool).copy()
    diff = stmt - settled
    equal = np.abs(diff) <= QTY_EPS
    has_pending = np.abs(pend) > QTY_EPS
    outcome = np.full(len(m), BREAK, dtype=object)
    btype = np.full(len(m), "", dtype=object)
    outcome[equal & ~has_pending] = MATCHED
    sel = equal & has_pending
    outcome[sel], btype[sel] = EXPLAINED, BreakType.PENDING_SETTLEMENT
    unequal = ~equal
    # Corporate-action timing: the custodian applied a split the book has not (or the reverse).
    ca_ref = np.full(len(m), None, dtype=object)
    near = book.splits[book.splits["near"]] if not book.splits.empty else book.splits
    if unequal.any() and not near.empty:
        cand = (
            m.loc[unequal, ["security_id", "statement", "settled_qty"]]
            .reset_index()
            .merge(near, on="security_id")
        )
        if not cand.empty:
            f = cand["factor"].to_numpy()
            st, bk = cand["statement"].to_numpy(), cand["settled_qty"].to_numpy()
            hit = (np.abs(st - bk * f) <= QTY_EPS) | (np.abs(st - bk / f) <= QTY_EPS)
            # A reverse split pays fractions in cash: the custodian shows whole shares only.
            lieu = ~hit & (np.abs(st - np.floor(bk * np.minimum(f, 1 / f) + QTY_EPS)) <= QTY_EPS)
            lieu &= bk > QTY_EPS
            hit = (hit | lieu) & (np.abs(bk) > QTY_EPS)
            for idx, ref, ex, fac, frac in zip(
                cand["index"][hit], cand["ref"][hit], cand["ex_date"][hit], f[hit], lieu[hit]
            ):
                if ca_ref[idx] is None:
                    ca_ref[idx] = (ref, ex, fac, bool(frac))
    is_ca = np.array([r is not None for r in ca_ref], dtype=bool)
    outcome[is_ca], btype[is_ca] = EXPLAINED, BreakType.CORPORATE_ACTION
    rest = unequal & ~is_ca
    book_absent = (np.abs(settled) <= QTY_EPS) & (np.abs(td) <= QTY_EPS)
    btype[rest & ~present] = BreakType.MISSING_AT_CUSTODIAN
    btype[rest & present & book_absent] = BreakType.MISSING_IN_BOOK
    btype[rest & present & ~book_absent] = BreakType.QUANTITY
    m["book"] = settled
    m["measure"] = "quantity"
    m["security_ref"] = m["symbol"]
    m["explanation"] = None
    m["refs"] = None
    # Explanations, only for rows that are not matched.
    ptext = _pending_text(book.pending, sec)
    if len(ptext):
        pos = ptext.index.get_indexer(m["pk"])
        has = pos >= 0
        texts = np.where(has, ptext["text"].to_numpy()[np.maximum(pos, 0)], None)
        refs = np.where(has, ptext["refs"].to_numpy()[np.maximum(pos, 0)], None)
        sel = btype == BreakType.PENDING_SETTLEMENT
        m.loc[sel, "explanation"] = [
            f"book {_fmt_qty(b)} on trade date, {_fmt_qty(st)} settled; pending settlement: {t}"
            for b, st, t in zip(td[sel], settled[sel], texts[sel])
        ]
        m.loc[sel, "refs"] = pd.Series(list(refs[sel]), index=m.index[sel], dtype=object)
        other = (outcome == BREAK) & has
        m.loc[other, "explanation"] = ["also pending (does not explain it): " + str(t) for t in texts[other]]
    for i in np.flatnonzero(is_ca):
        ref, ex, fac, frac = ca_ref[i]
        what = f"split {ref} ({fac:g} for 1)" if fac >= 1 else f"reverse split {ref} (1 for {1 / fac:g})"
        m.at[m.index[i], "explanation"] = (
            f"corporate-action timing: {what} with ex-date {ex}; the custodian shows "
            f"{_fmt_qty(stmt[i])}{' (fractions in cash)' if frac else ''}, the book {_fmt_qty(settled[i])} on {as_of}"
        )
        m.at[m.index[i], "refs"] = [ref]
    # An ISIN change: the custodian already reports the new ISIN (resolved through the announced
    # action) while the book still holds the old one; the quantities agree.
    via = m["via_action"].to_numpy(dtype=object) if "via_action" in m else np.full(len(m), None)
    early = (outcome == MATCHED) & pd.notna(via)
    if early.any():
        rn = book.renames.set_index("ref")
        outcome[early], btype[early] = EXPLAINED, BreakType.CORPORATE_ACTION
        for i in np.flatnonzero(early):
            r = rn.loc[via[i]]
            m.at[m.index[i], "explanation"] = (
                f"corporate-action timing: ISIN change {via[i]} to {r['new_isin']} with ex-date {r['ex_date']}; "
                f"the custodian already reports the new ISIN, the book has not applied it on {as_of}"
            )
            m.at[m.index[i], "refs"] = [via[i]]
    # An ISIN change the book applied while the custodian still reports the old ISIN: the old
    # ISIN is unknown to the book (it keeps only the ISIN in force), so the unknown line is paired
    # with the renamed security's position in the same account when the quantities agree.
    unknown, pairs = _late_renames(m, btype, unknown, book, as_of)
    for i, qty, old, ref, new_isin, ex in pairs:
        outcome[i], btype[i], present[i], stmt[i] = EXPLAINED, BreakType.CORPORATE_ACTION, True, qty
        m.at[m.index[i], "explanation"] = (
            f"corporate-action timing: ISIN change {ref} to {new_isin} with ex-date {ex}; the custodian "
            f"still reports {_fmt_qty(qty)} under the old ISIN {old} on {as_of}"
        )
        m.at[m.index[i], "refs"] = [ref]
    diff = stmt - settled
    m["outcome"], m["break_type"], m["difference"] = outcome, btype, diff
    if not unknown.empty:
        out.append(_unknown_rows(unknown))
    sel = btype == BreakType.MISSING_AT_CUSTODIAN
    m.loc[sel & m["explanation"].isna(), "explanation"] = (
        "the book holds it; the custodian reports no position"
    )
    sel = btype == BreakType.MISSING_IN_BOOK
    m.loc[sel & m["explanation"].isna(), "explanation"] = "the custodian reports it; the book holds none"
    sel = btype == BreakType.QUANTITY
    m.loc[sel & m["explanation"].isna(), "explanation"] = "settled quantities differ"
    m["statement"] = np.where(present, stmt, np.nan)
    pos_out = m[RESULT_COLUMNS].copy()
    val = _valuation(m, outcome == MATCHED, as_of, prices, fx, tolerance)
    out.extend([pos_out, val])
    res = (
        pd.concat([o for o in out if not o.empty], ignore_index=True)
        if any(not o.empty for o in out)
        else pd.DataFrame(columns=RESULT_COLUMNS)
    )
    # Matched lines carry no references; only the others get a list (a million lists cost seconds).
    todo = (res["outcome"] != MATCHED).to_numpy()
    res.loc[todo, "refs"] = pd.Series(
        [list(r) if isinstance(r, list | tuple | np.ndarray) else [] for r in res.loc[todo, "refs"]],
        index=res.index[todo],
        dtype=object,
    )
    return res


def _unknown_rows(unknown: pd.DataFrame) -> pd.DataFrame:
    """An unknown-security break for each custodian line whose identifier matches nothing."""
    return pd.DataFrame(
        {
            "custodian": unknown["custodian"],
            "account_id": unknown["account_id"],
            "account_code": unknown["account_code"],
            "security_id": np.nan,
            "security_ref": unknown["id_type"] + ":" + unknown["security_ref"],
            "currency": unknown["currency"],
            "measure": "quantity",
            "outcome": BREAK,
            "break_type": BreakType.UNKNOWN_SECURITY,
            "book": np.nan,
            "statement": unknown["quantity"],
            "difference": unknown["quantity"],
            "explanation": "the custodian's "
            + unknown["id_type"]
            + " "
            + unknown["security_ref"]
            + " matches no security in the book's reference data",
            "refs": [[] for _ in range(len(unknown))],
        }
    )


def _late_renames(
    m: pd.DataFrame, btype: np.ndarray, unknown: pd.DataFrame, book: BookView, as_of: date
) -> tuple[pd.DataFrame, list[tuple[int, float, str, str, str, date]]]:
    """Pair old-ISIN custodian lines with positions of securities whose ISIN the book changed.

    A pair is (row of m, custodian quantity, old ISIN, action ref, new ISIN, ex-date); the
    unknown lines not paired are returned for unknown-security breaks.
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
        {
            "i": missing,
            "account_id": m["account_id"].to_numpy()[missing],
            "security_id": m["security_id"].to_numpy()[missing],
            "settled": m["settled_qty"].to_numpy()[missing],
        }
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
    m: pd.DataFrame, matched: np.ndarray, as_of: date, prices: pd.Series, fx: FxTable | None, tol: Tolerance
) -> pd.DataFrame:
    """A valuation break for each matched line whose market value is off beyond the tolerance."""
    cols = ["custodian", "account_id", "account_code", "security_id", "symbol", "currency", "sec_ccy",
            "multiplier", "statement", "market_value"]  # fmt: skip
    sel = matched & m["market_value"].notna().to_numpy()
    v = pd.DataFrame({c: m[c].to_numpy()[sel] for c in cols})
    if v.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return _value_rows(v, as_of, prices, fx, tol)


def _value_rows(
    v: pd.DataFrame, as_of: date, prices: pd.Series, fx: FxTable | None, tol: Tolerance
) -> pd.DataFrame:
    px = v["security_id"].map(prices).to_numpy(dtype=float)
    mult = v["multiplier"].to_numpy(dtype=float)
    from_ccy, to_ccy = v["sec_ccy"].to_numpy(dtype=object), v["currency"].to_numpy(dtype=object)
    rate = np.ones(len(v))
    need = from_ccy != to_ccy
    if need.any():
        if fx is None:
            raise ValueError("an FX table is needed to value lines in another currency")
        rate[need] = fx.rates(from_ccy[need], to_ccy[need], as_of)
    book_mv = v["statement"].to_numpy(dtype=float) * px * mult * rate
    cust_mv = v["market_value"].to_numpy(dtype=float)
    diff = cust_mv - book_mv
    bad = ~np.isnan(book_mv) & (np.abs(diff) > np.maximum(tol.relative * np.abs(book_mv), tol.absolute))
    v = v[bad]
    if v.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    bm, cm, d, r, p = book_mv[bad], cust_mv[bad], diff[bad], rate[bad], px[bad]
    return pd.DataFrame(
        {
            "custodian": v["custodian"].to_numpy(),
            "account_id": v["account_id"].to_numpy(),
            "account_code": v["account_code"].to_numpy(),
            "security_id": v["security_id"].to_numpy(),
            "security_ref": v["symbol"].to_numpy(),
            "currency": v["currency"].to_numpy(),
            "measure": "amount",
            "outcome": BREAK,
            "break_type": BreakType.VALUATION,
            "book": bm,
            "statement": cm,
            "difference": d,
            "explanation": [
                f"market value differs by {dd / b:+.2%} (beyond {tol.relative:.2%}): book {q:g} x {pp:g} {sc} x FX {rr:.6g} to {c}"
                for dd, b, q, pp, sc, rr, c in zip(d, bm, v["statement"], p, v["sec_ccy"], r, v["currency"])
            ],
            "refs": [[] for _ in range(len(v))],
        }
    )


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
    half_unit = m["currency"].map(lambda c: 0.5 * 10.0 ** -minor_units(c)).to_numpy(dtype=float)
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
