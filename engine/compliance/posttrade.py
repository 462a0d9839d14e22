"""Post-trade checking: the whole book (or some accounts) against the rules in force, on demand
and after fills. Lists breaches such as a cap breached passively by price moves.

Only rules about holdings apply here (concentration, shorts, overdrafts, minimum cash, ESG and
client restrictions on what is held); order rules (fat finger, duplicates...) need an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.compliance.book import Book, book_as_of, load_book
from engine.compliance.fmt import money, num, pct, qty
from engine.compliance.projection import Context, Orders
from engine.compliance.rules import Rule, rules_in_force
from engine.compliance.templates import _bits

CAPS = {
    "security_weight_max": ("security", "Security", None),
    "issuer_weight_max": ("issuer", "Issuer", None),
    "sector_weight_max": ("sector", "Sector", "sector"),
    "country_weight_max": ("country", "Country", "country"),
    "currency_weight_max": ("currency", "Currency", "currency"),
}


@dataclass(frozen=True)
class Breach:
    account: str
    rule: str
    version: int
    severity: str
    outcome: str
    subject: str
    limit: float | None
    value: float
    unit: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "rule": self.rule,
            "version": self.version,
            "severity": self.severity,
            "outcome": self.outcome,
            "subject": self.subject,
            "limit": self.limit,
            "value": round(self.value, 10),
            "unit": self.unit,
            "message": self.message,
        }


def _empty_orders() -> Orders:
    z = np.zeros(0, dtype=np.int64)
    return Orders([], z, z, np.zeros(0), np.zeros(0), np.zeros(0))


def _cap_breaches(ctx: Context, rule: Rule, mask: np.ndarray) -> list[Breach]:
    kind, label, filt = CAPS[rule.template]
    b = ctx.book
    if kind == "currency" and rule.params.get("include_cash"):
        g_all = ctx.sec_c
        names = list(b.currencies)
        keys = np.concatenate([b.pos_a * len(names) + g_all[b.pos_s], b.cash_a * len(names) + b.cash_c])
        vals = np.concatenate([ctx.pos_mv_base, ctx.cash_base])
    else:
        g, names = ctx.group_codes(kind)
        keys = b.pos_a * len(names) + g[b.pos_s]
        vals = ctx.pos_mv_base
    ng = max(len(names), 1)
    if not len(keys):
        return []
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=vals, minlength=len(uniq))
    a, gi = uniq // ng, uniq % ng
    total = ctx.total_pre[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(total > 0, sums / total, np.nan)
    limit = rule.params["max_weight"]
    codes = b.acct["code"].to_numpy(dtype=object)
    hit = mask[a] & (w > limit + 1e-9)
    only = rule.params.get(filt) if filt else None
    out = []
    for k in np.flatnonzero(hit):
        name = names[gi[k]]
        if only and name != only:
            continue
        acct = str(codes[a[k]])
        out.append(
            Breach(
                acct,
                rule.code,
                rule.version,
                rule.severity,
                rule.fail_outcome,
                name,
                limit,
                float(w[k]),
                "weight",
                f"{label} {name} is {pct(w[k])} of {acct}, above the {pct(limit)} cap.",
            )
        )
    return out


def _holding_breaches(ctx: Context, rule: Rule, mask: np.ndarray) -> list[Breach]:
    b = ctx.book
    t, p = rule.template, rule.params
    codes = b.acct["code"].to_numpy(dtype=object)
    syms = b.sec["symbol"].to_numpy(dtype=object)
    base = b.acct["base_currency"].to_numpy(dtype=object)
    out: list[Breach] = []

    def add(a: int, subject: str, limit: float | None, value: float, unit: str, msg: str) -> None:
        out.append(Breach(str(codes[a]), rule.code, rule.version, rule.severity, rule.fail_outcome, subject, limit,
                          float(value), unit, msg))  # fmt: skip

    held = b.pos_q > 1e-9
    if t == "no_short":
        for k in np.flatnonzero(mask[b.pos_a] & (b.pos_q < -1e-9)):
            a, s = b.pos_a[k], b.pos_s[k]
            add(a, syms[s], 0.0, b.pos_q[k], "quantity", f"{codes[a]} is short {qty(-b.pos_q[k])} {syms[s]}.")
    elif t == "cash_overdraft":
        tol = -p["tolerance"]
        for k in np.flatnonzero(mask[b.cash_a] & (b.cash_amt < tol - 1e-9)):
            a, c = b.cash_a[k], b.currencies[b.cash_c[k]]
            add(
                a,
                c,
                tol,
                b.cash_amt[k],
                "money:local",
                f"{codes[a]} is overdrawn in {c}: {money(b.cash_amt[k], c)}.",
            )
    elif t == "min_cash":
        floor = np.full(b.n_accounts, p["min_fraction"] if p["min_fraction"] is not None else np.nan)
        if p["use_account"]:
            floor = np.fmax(floor, b.acct["cash_floor"].to_numpy(dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = ctx.cash_total_pre / ctx.total_pre
        for a in np.flatnonzero(mask & np.isfinite(floor) & (share < floor - 1e-9)):
            add(int(a), "cash", float(floor[a]), share[a], "weight",
                f"{codes[a]} holds {pct(share[a])} in cash, below its minimum {pct(floor[a])}.")  # fmt: skip
    elif t == "esg_exclusion":
        index: dict[str, int] = {}
        sec_bits = np.array([_bits(f, index) for f in b.sec["esg_flags"]], dtype=np.int64)
        fixed = _bits(p["flags"], index)
        acct_bits = np.full(b.n_accounts, fixed, dtype=np.int64)
        if p["use_account"]:
            acct_bits |= np.array([_bits(f, index) for f in b.acct["esg_exclusions"]], dtype=np.int64)
        names = {v: n for n, v in index.items()}
        bad = held & mask[b.pos_a] & ((sec_bits[b.pos_s] & acct_bits[b.pos_a]) != 0)
        for k in np.flatnonzero(bad):
            a, s = b.pos_a[k], b.pos_s[k]
            flags = ", ".join(names[i] for i in sorted(names) if (sec_bits[s] & acct_bits[a]) >> i & 1)
            v = ctx.pos_mv_base[k]
            add(a, syms[s], None, v, "money:base",
                f"{codes[a]} holds {qty(b.pos_q[k])} {syms[s]} ({money(v, base[a])}) with "
                f"excluded involvement: {flags}.")  # fmt: skip
    elif t == "esg_min_score":
        per = np.full(b.n_accounts, p["min_score"] if p["min_score"] is not None else np.nan)
        if p["use_account"]:
            per = np.fmax(per, b.acct["min_esg_score"].to_numpy(dtype=float))
        score = b.sec["esg_score"].to_numpy(dtype=float)
        bad = held & mask[b.pos_a] & (score[b.pos_s] < per[b.pos_a] - 1e-9)
        for k in np.flatnonzero(bad):
            a, s = b.pos_a[k], b.pos_s[k]
            add(a, syms[s], float(per[a]), score[s], "score",
                f"{codes[a]} holds {syms[s]} with ESG score {num(score[s], 1)}, below its minimum {num(per[a], 1)}.")  # fmt: skip
    elif t == "client_restriction":
        types = b.sec["restricted_client_types"].to_numpy(dtype=object)
        doms = b.sec["restricted_domiciles"].to_numpy(dtype=object)
        ct = b.acct["client_type"].to_numpy(dtype=object)
        dm = b.acct["domicile"].to_numpy(dtype=object)
        ix: dict[str, int] = {}
        at = np.array([_bits(x, ix) for x in types], dtype=np.int64)
        ad = np.array([_bits(x, ix) for x in doms], dtype=np.int64)
        ut = np.array([_bits([x], ix) for x in ct], dtype=np.int64)
        ud = np.array([_bits([x], ix) for x in dm], dtype=np.int64)
        st, sd, pa = at[b.pos_s], ad[b.pos_s], b.pos_a
        bad = ((st != 0) & ((st & ut[pa]) == 0)) | ((sd != 0) & ((sd & ud[pa]) == 0))
        for k in np.flatnonzero(held & mask[pa] & bad):
            a, sx = b.pos_a[k], b.pos_s[k]
            add(a, syms[sx], None, ctx.pos_mv_base[k], "money:base",
                f"{codes[a]} ({ct[a]}, {dm[a]}) holds {syms[sx]} "
                f"({money(ctx.pos_mv_base[k], base[a])}), which is only for "
                f"{', '.join(types[sx] or doms[sx])} clients.")  # fmt: skip
    return out


BOOK_TEMPLATES = set(CAPS) | {"no_short", "cash_overdraft", "min_cash", "esg_exclusion", "esg_min_score",
                              "client_restriction"}  # fmt: skip


def scan(book: Book, rules: list[Rule], session: Session | None = None) -> list[Breach]:
    """Every breach of a holdings rule in the snapshot (no database writes)."""
    ctx = Context(session, book, _empty_orders(), datetime.now(UTC))
    out: list[Breach] = []
    for rule in rules:
        if rule.template not in BOOK_TEMPLATES:
            continue
        mask = rule.account_mask(book.acct)
        out += _cap_breaches(ctx, rule, mask) if rule.template in CAPS else _holding_breaches(ctx, rule, mask)
    rank = {"block": 0, "flag": 1, "warn": 2}
    out.sort(key=lambda x: (rank[x.outcome], x.account, x.rule, x.subject))
    return out


def book_check(
    session: Session, username: str, as_of: date | None = None, account_codes: list[str] | None = None
) -> tuple[Book, list[Breach]]:
    """Check the whole book (or these accounts, e.g. after fills). Needs compliance.book_check."""
    require(session, username, Permission.BOOK_CHECK)
    as_of = as_of or book_as_of(session)
    book = load_book(session, as_of, account_codes)
    return book, scan(book, rules_in_force(session, as_of), session)


def after_fills(session: Session, account_codes: list[str]) -> list[Breach]:
    """The post-fill check the OMS or accounting may call: breaches in the filled accounts only."""
    as_of = book_as_of(session)
    book = load_book(session, as_of, account_codes)
    return scan(book, rules_in_force(session, as_of), session)
