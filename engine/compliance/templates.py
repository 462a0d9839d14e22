"""Rule templates: each turns parameters and a batch context into per-order verdicts with numbers.

A template evaluates every order at once (numpy arrays) and returns an `Eval`: where it is
relevant, where it fails, and the limit, value before and value after for each order, plus a
function that writes the reviewer's sentence for one order (only called when needed).
Caps fail only when the trade makes the exposure worse (above the limit and higher than before).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from engine.compliance.fmt import money, num, pct, qty
from engine.compliance.projection import Context
from engine.compliance.tables import DeskAccount, ListEntry
from engine.errors import WorkstationError
from engine.oms.tables import Order
from engine.store.accounts import Account
from engine.store.reference import Security

EPS = 1e-9
DEAD_ORDER_STATES = ("rejected", "canceled", "cancelled", "expired", "draft")
REQUIRED = object()


class RuleDefinitionError(WorkstationError):
    """A rule names an unknown template or gives bad parameters."""


@dataclass
class Eval:
    """Per-order verdict arrays of one rule (relevant, fail, limit, before, after) and a writer."""

    relevant: np.ndarray
    fail: np.ndarray
    limit: np.ndarray
    before: np.ndarray
    after: np.ndarray
    unit: str
    describe: Callable[[int], str]


@dataclass(frozen=True)
class Param:
    kind: type
    default: Any = REQUIRED
    help: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    category: str
    title: str
    params: dict[str, Param]
    evaluate: Callable[[Context, dict[str, Any]], Eval]
    book_level: str | None = None  # exposure kind for post-trade book checks
    extra: dict[str, Any] = field(default_factory=dict)
    # How far past the orders' own accounts the rule reads the book (engine.compliance.scope):
    # "account", "household" (every account of the orders' households) or "firm" (the whole book).
    reach: str = "account"

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """Parameters with defaults filled in; unknown or missing or mistyped ones raise."""
        unknown = set(params) - set(self.params)
        if unknown:
            raise RuleDefinitionError(f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if name not in params:
                if p.default is REQUIRED:
                    raise RuleDefinitionError(f"{self.name}: parameter {name!r} is required ({p.help})")
                out[name] = p.default
                continue
            v = params[name]
            if v is None:
                out[name] = None
            elif p.kind is float:
                if isinstance(v, bool) or not isinstance(v, int | float | str):
                    raise RuleDefinitionError(f"{self.name}: {name} must be a number")
                try:
                    out[name] = float(v)
                except ValueError:
                    raise RuleDefinitionError(f"{self.name}: {name} must be a number, not {v!r}") from None
                if out[name] < 0:
                    raise RuleDefinitionError(f"{self.name}: {name} must not be negative")
            elif p.kind is list:
                if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
                    raise RuleDefinitionError(f"{self.name}: {name} must be a list of strings")
                out[name] = list(v)
            elif p.kind is bool:
                if not isinstance(v, bool):
                    raise RuleDefinitionError(f"{self.name}: {name} must be true or false")
                out[name] = v
            else:
                out[name] = str(v)
        return out


TEMPLATES: dict[str, Template] = {}


def template(
    name: str,
    category: str,
    title: str,
    params: dict[str, Param],
    book_level: str | None = None,
    reach: str = "account",
) -> Callable[[Callable[[Context, dict[str, Any]], Eval]], Callable[[Context, dict[str, Any]], Eval]]:
    def deco(fn: Callable[[Context, dict[str, Any]], Eval]) -> Callable[[Context, dict[str, Any]], Eval]:
        TEMPLATES[name] = Template(name, category, title, params, fn, book_level, reach=reach)
        return fn

    return deco


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise RuleDefinitionError(
            f"unknown template {name!r}; one of {', '.join(sorted(TEMPLATES))}"
        ) from None


# --- helpers ---------------------------------------------------------------------------------
def _full(ctx: Context, v: float) -> np.ndarray:
    return np.full(ctx.n, v, dtype=float)


def _nan(ctx: Context) -> np.ndarray:
    return np.full(ctx.n, np.nan)


def _who(ctx: Context, i: int) -> tuple[str, str, str, str]:
    """Account code, symbol, 'buy'/'sell' and quantity text of order i."""
    o = ctx.o
    return (
        str(ctx.acct_codes[o.a[i]]),
        str(ctx.symbols[o.s[i]]),
        "buy" if o.sign[i] > 0 else "sell",
        qty(o.qty[i]),
    )


def _base(ctx: Context, i: int) -> str:
    return str(ctx.book.currencies[ctx.o_base[i]])


def _local(ctx: Context, i: int) -> str:
    return str(ctx.book.currencies[ctx.o_ccy[i]])


def _buys(ctx: Context) -> np.ndarray:
    return ctx.o.sign > 0


# --- concentration ---------------------------------------------------------------------------
def _cap(kind: str, label: str, filter_param: str | None) -> Callable[[Context, dict[str, Any]], Eval]:
    def evaluate(ctx: Context, p: dict[str, Any]) -> Eval:
        pre, post, og, names = ctx.exposure("currency_cash" if p.get("include_cash") else kind)
        a = ctx.o.a
        with np.errstate(divide="ignore", invalid="ignore"):
            before = np.where(ctx.total_pre[a] > 0, pre / ctx.total_pre[a], np.nan)
            after = np.where(ctx.total_after > 0, post / ctx.total_after, np.nan)
        relevant = np.ones(ctx.n, dtype=bool)
        only = p.get(filter_param) if filter_param else None
        if only:
            relevant = np.asarray([names[g] == only for g in og]) if len(og) else relevant
        limit = _full(ctx, p["max_weight"])
        fail = relevant & (after > limit + EPS) & (after > before + EPS)

        def describe(i: int) -> str:
            acct = _who(ctx, i)[0]
            name = names[og[i]]
            if not relevant[i]:
                return f"{label} {name} is not {only}: the {pct(limit[i])} cap on {only} does not apply."
            if fail[i]:
                return (
                    f"{label} {name} would be {pct(after[i])} of {acct} after the trade, above the "
                    f"{pct(limit[i])} cap ({pct(before[i])} before)."
                )
            return (
                f"{label} {name} is {pct(after[i])} of {acct} after the trade, within the "
                f"{pct(limit[i])} cap or not increased ({pct(before[i])} before)."
            )

        return Eval(relevant, fail, limit, before, after, "weight", describe)

    return evaluate


_W = {"max_weight": Param(float, help="largest weight as a fraction of account value, e.g. 0.10")}
template("security_weight_max", "concentration", "Security weight cap", _W, "security")(
    _cap("security", "Security", None)
)
template("issuer_weight_max", "concentration", "Issuer weight cap", _W, "issuer")(
    _cap("issuer", "Issuer", None)
)
template(
    "sector_weight_max",
    "concentration",
    "Sector weight cap",
    {**_W, "sector": Param(str, None, "only this sector (default: every sector)")},
    "sector",
)(_cap("sector", "Sector", "sector"))
template(
    "country_weight_max",
    "concentration",
    "Country weight cap",
    {**_W, "country": Param(str, None, "only this ISO country (default: every country)")},
    "country",
)(_cap("country", "Country", "country"))
template(
    "currency_weight_max",
    "concentration",
    "Currency exposure cap (securities by their currency)",
    {
        **_W,
        "currency": Param(str, None, "only this currency (default: every currency)"),
        "include_cash": Param(bool, False, "count cash in the currency too (trades then offset themselves)"),
    },
    "currency",
)(_cap("currency", "Currency", "currency"))


# --- exclusions ------------------------------------------------------------------------------
def _bits(values: Any, index: dict[str, int]) -> int:
    out = 0
    for v in values or ():
        out |= 1 << index.setdefault(str(v), len(index))
    return out


@template(
    "esg_exclusion",
    "exclusions",
    "ESG business-involvement screen (buys)",
    {
        "flags": Param(list, [], "flags excluded for every account the rule applies to"),
        "use_account": Param(bool, True, "also exclude each account's own esg_exclusions"),
    },
)
def esg_exclusion(ctx: Context, p: dict[str, Any]) -> Eval:
    index: dict[str, int] = {}
    sec_bits = np.array([_bits(f, index) for f in ctx.book.sec["esg_flags"]], dtype=np.int64)
    fixed = _bits(p["flags"], index)
    if p["use_account"]:
        acct_bits = (
            np.array([_bits(f, index) for f in ctx.book.acct["esg_exclusions"]], dtype=np.int64) | fixed
        )
    else:
        acct_bits = np.full(ctx.book.n_accounts, fixed, dtype=np.int64)
    hit = (sec_bits[ctx.o.s] & acct_bits[ctx.o.a]) != 0
    relevant = _buys(ctx)
    fail = relevant & hit
    value = ctx.notional_local * ctx.fx_base
    names = {b: n for n, b in index.items()}

    def flags_of(bits: int) -> str:
        return ", ".join(names[b] for b in sorted(names) if bits >> b & 1) or "none"

    def describe(i: int) -> str:
        acct, sym, _side, q = _who(ctx, i)
        if not relevant[i]:
            return f"Selling {q} {sym} ({money(value[i], _base(ctx, i))}) reduces any excluded exposure."
        if fail[i]:
            return (
                f"Buying {q} {sym} ({money(value[i], _base(ctx, i))}) adds {flags_of(int(sec_bits[ctx.o.s[i]] & acct_bits[ctx.o.a[i]]))} "
                f"involvement, which {acct} excludes (excluded: {flags_of(int(acct_bits[ctx.o.a[i]]))})."
            )
        return (
            f"{sym} has none of the flags {acct} excludes (its flags: {flags_of(int(sec_bits[ctx.o.s[i]]))}; "
            f"order {money(value[i], _base(ctx, i))})."
        )

    return Eval(relevant, fail, _nan(ctx), _full(ctx, 0.0), value * fail, "money:base", describe)


@template(
    "esg_min_score",
    "exclusions",
    "Minimum ESG score (buys)",
    {
        "min_score": Param(float, None, "minimum score for every account (default: the account's own)"),
        "use_account": Param(bool, True, "use each account's min_esg_score (the higher of the two)"),
        "missing_fails": Param(bool, False, "treat a security without a score as failing"),
    },
)
def esg_min_score(ctx: Context, p: dict[str, Any]) -> Eval:
    acct_min = ctx.book.acct["min_esg_score"].to_numpy(dtype=float) if p["use_account"] else None
    fixed = p["min_score"] if p["min_score"] is not None else np.nan
    per = _full(ctx, fixed)
    if acct_min is not None:
        per = np.fmax(per, acct_min[ctx.o.a])
    score = ctx.book.sec["esg_score"].to_numpy(dtype=float)[ctx.o.s]
    relevant = _buys(ctx) & np.isfinite(per)
    low = (score < per - EPS) | (np.isnan(score) & bool(p["missing_fails"]))
    fail = relevant & low

    def describe(i: int) -> str:
        acct, sym, _side, _q = _who(ctx, i)
        if not relevant[i]:
            why = "a sell" if ctx.o.sign[i] < 0 else f"{acct} has no minimum ESG score"
            return f"No ESG score minimum to check: {why}."
        if fail[i]:
            return f"{sym} has ESG score {num(score[i], 1)}, below the minimum {num(per[i], 1)} for {acct}."
        return f"{sym} has ESG score {num(score[i], 1)}; the minimum for {acct} is {num(per[i], 1)}."

    return Eval(relevant, fail, per, _nan(ctx), score, "score", describe)


@template(
    "restricted_list",
    "exclusions",
    "Restricted or watch list (firm-wide and per account, effective-dated)",
    {
        "list": Param(str, "restricted", "restricted or watch"),
        "sides": Param(list, ["buy", "sell"], "which sides the list stops"),
    },
)
def restricted_list(ctx: Context, p: dict[str, Any]) -> Eval:
    day = ctx.book.as_of
    entries: list[tuple[str, str | None, Any, str | None]] = []
    if ctx.session is not None:
        entries = [
            (e.symbol, e.account_code, e.effective_from, e.reason)
            for e in ctx.session.scalars(
                select(ListEntry).where(
                    ListEntry.list_kind == p["list"],
                    ListEntry.effective_from <= day,
                    (ListEntry.effective_to.is_(None)) | (ListEntry.effective_to > day),
                )
            )
        ]
    ns = ctx.book.n_securities
    firm: dict[int, tuple[Any, str | None]] = {}
    per_acct: dict[int, tuple[Any, str | None]] = {}
    for sym, acct, since, reason in entries:
        s = ctx.book.sec_index.get(sym)
        if s is None:
            continue
        if acct is None:
            firm[s] = (since, reason)
        elif acct in ctx.book.acct_index:
            per_acct[ctx.book.acct_index[acct] * ns + s] = (since, reason)
    on_firm = np.isin(ctx.o.s, np.fromiter(firm, dtype=np.int64, count=len(firm)))
    keys = ctx.o.a * ns + ctx.o.s
    on_acct = np.isin(keys, np.fromiter(per_acct, dtype=np.int64, count=len(per_acct)))
    sides = {"buy": 1.0, "sell": -1.0}
    relevant = np.isin(ctx.o.sign, [sides[x] for x in p["sides"] if x in sides])
    fail = relevant & (on_firm | on_acct)
    value = ctx.notional_local * ctx.fx_base
    what = f"{p['list']} list"

    def describe(i: int) -> str:
        acct, sym, side, q = _who(ctx, i)
        if fail[i]:
            since, reason = firm.get(int(ctx.o.s[i])) or per_acct[int(keys[i])]
            where = "the firm" if on_firm[i] else acct
            return (
                f"{sym} is on the {what} of {where} since {since}"
                f"{' (' + reason + ')' if reason else ''}: {side} {q} ({money(value[i], _base(ctx, i))})."
            )
        if not relevant[i]:
            return f"The {what} does not restrict {side}s."
        return f"{sym} is not on the {what} for {acct} on {day}."

    return Eval(relevant, fail, _nan(ctx), _nan(ctx), value, "money:base", describe)


# --- holdings --------------------------------------------------------------------------------
@template("no_short", "holdings", "No short positions", {})
def no_short(ctx: Context, p: dict[str, Any]) -> Eval:
    relevant = ctx.o.sign < 0
    fail = relevant & (ctx.qty_post < -EPS)

    def describe(i: int) -> str:
        acct, sym, _side, q = _who(ctx, i)
        if fail[i]:
            return (
                f"Selling {q} {sym} would leave {acct} short {qty(-ctx.qty_post[i])} "
                f"(holds {qty(ctx.qty_pre[i])}; all orders in this batch: {qty(ctx.qty_post[i])} after)."
            )
        return f"{acct} holds {qty(ctx.qty_pre[i])} {sym}, {qty(ctx.qty_post[i])} after the trade: no short."

    return Eval(relevant, fail, _full(ctx, 0.0), ctx.qty_pre, ctx.qty_post, "quantity", describe)


@template(
    "cash_overdraft",
    "holdings",
    "No cash overdraft in any currency",
    {"tolerance": Param(float, 0.0, "overdraft allowed, in the currency's units")},
)
def cash_overdraft(ctx: Context, p: dict[str, Any]) -> Eval:
    relevant = _buys(ctx)
    limit = _full(ctx, -p["tolerance"] + 0.0)
    fail = relevant & (ctx.cash_post < limit - EPS)

    def describe(i: int) -> str:
        acct, sym, _side, q = _who(ctx, i)
        ccy = _local(ctx, i)
        if fail[i]:
            return (
                f"Buying {q} {sym} for {money(ctx.notional_local[i], ccy)} would overdraw {acct}'s {ccy} cash "
                f"to {money(ctx.cash_post[i], ccy)} ({money(ctx.cash_pre[i], ccy)} before; "
                f"allowed down to {money(limit[i], ccy)}); fund it with an FX trade first."
            )
        return f"{acct}'s {ccy} cash is {money(ctx.cash_post[i], ccy)} after the trade ({money(ctx.cash_pre[i], ccy)} before)."

    return Eval(relevant, fail, limit, ctx.cash_pre, ctx.cash_post, "money:local", describe)


@template(
    "min_cash",
    "holdings",
    "Minimum cash as a share of account value",
    {
        "min_fraction": Param(float, None, "minimum for every account (default: the account's cash_floor)"),
        "use_account": Param(bool, True, "use each account's cash_floor (the higher of the two)"),
    },
)
def min_cash(ctx: Context, p: dict[str, Any]) -> Eval:
    a = ctx.o.a
    per = _full(ctx, p["min_fraction"] if p["min_fraction"] is not None else np.nan)
    if p["use_account"]:
        per = np.fmax(per, ctx.book.acct["cash_floor"].to_numpy(dtype=float)[a])
    with np.errstate(divide="ignore", invalid="ignore"):
        before = ctx.cash_total_pre[a] / ctx.total_pre[a]
        after = ctx.cash_total_after / ctx.total_after
    relevant = _buys(ctx) & np.isfinite(per)
    fail = relevant & (after < per - EPS) & (after < before - EPS)

    def describe(i: int) -> str:
        acct = _who(ctx, i)[0]
        if not relevant[i]:
            return "A sell adds cash: the minimum cash rule cannot be breached by it."
        verdict = "below" if fail[i] else "against"
        return (
            f"{acct} would hold {pct(after[i])} of its value in cash after the trade ({pct(before[i])} before), "
            f"{verdict} the minimum {pct(per[i])}."
        )

    return Eval(relevant, fail, per, before, after, "weight", describe)


# --- liquidity -------------------------------------------------------------------------------
@template(
    "adv_max",
    "liquidity",
    "Order size as a share of average daily volume",
    {"max_pct": Param(float, help="largest order as a fraction of the 20-day average volume, e.g. 0.2")},
)
def adv_max(ctx: Context, p: dict[str, Any]) -> Eval:
    adv = ctx.book.sec["adv"].to_numpy(dtype=float)[ctx.o.s]
    relevant = np.isfinite(adv) & (adv > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(relevant, ctx.o.qty / adv, np.nan)
    limit = _full(ctx, p["max_pct"])
    fail = relevant & (share > limit + EPS)

    def describe(i: int) -> str:
        _acct, sym, _side, q = _who(ctx, i)
        if not relevant[i]:
            return f"{sym} has no recent volume: order size against volume not measured."
        word = "above" if fail[i] else "within"
        return f"{q} {sym} is {pct(share[i])} of its 20-day average volume {qty(round(adv[i]))}, {word} the {pct(limit[i])} limit."

    return Eval(relevant, fail, limit, _nan(ctx), share, "ratio", describe)


# --- order checks (SEC 15c3-5 style) ---------------------------------------------------------
@template(
    "fat_finger",
    "order",
    "Limit price too far from the last price",
    {"max_pct": Param(float, help="largest distance from the last price, e.g. 0.1 for 10%")},
)
def fat_finger(ctx: Context, p: dict[str, Any]) -> Eval:
    relevant = np.isfinite(ctx.o.limit)
    with np.errstate(invalid="ignore"):
        away = np.abs(ctx.o.limit / ctx.px_last - 1.0)
    limit = _full(ctx, p["max_pct"])
    fail = relevant & (away > limit + EPS)

    def describe(i: int) -> str:
        _acct, _sym, _side, _q = _who(ctx, i)
        ccy = _local(ctx, i)
        if not relevant[i]:
            return (
                f"Market order: no limit price to compare with the last price {money(ctx.px_last[i], ccy)}."
            )
        word = "more than" if fail[i] else "within"
        return (
            f"Limit {money(ctx.o.limit[i], ccy)} is {pct(away[i])} away from the last price "
            f"{money(ctx.px_last[i], ccy)}, {word} the {pct(limit[i])} collar."
        )

    return Eval(relevant, fail, limit, ctx.px_last, away, "ratio", describe)


@template(
    "order_quantity_max",
    "order",
    "Order quantity limit",
    {"max_quantity": Param(float, help="largest quantity in one order")},
)
def order_quantity_max(ctx: Context, p: dict[str, Any]) -> Eval:
    relevant = np.ones(ctx.n, dtype=bool)
    limit = _full(ctx, p["max_quantity"])
    fail = ctx.o.qty > limit + EPS

    def describe(i: int) -> str:
        _acct, sym, _side, q = _who(ctx, i)
        return f"Quantity {q} {sym} is {'above' if fail[i] else 'within'} the limit {qty(limit[i])}."

    return Eval(relevant, fail, limit, _nan(ctx), ctx.o.qty, "quantity", describe)


@template(
    "order_notional_max",
    "order",
    "Order notional limit",
    {
        "max_notional": Param(float, help="largest value of one order"),
        "currency": Param(str, "USD", "currency of the limit"),
    },
)
def order_notional_max(ctx: Context, p: dict[str, Any]) -> Eval:
    ccy = p["currency"]
    value = ctx.notional_in(ccy)
    limit = _full(ctx, p["max_notional"])
    fail = value > limit + EPS

    def describe(i: int) -> str:
        _acct, sym, side, q = _who(ctx, i)
        return (
            f"{side.capitalize()} {q} {sym} is worth {money(value[i], ccy)}, "
            f"{'above' if fail[i] else 'within'} the {money(limit[i], ccy)} order limit."
        )

    return Eval(np.ones(ctx.n, dtype=bool), fail, limit, _nan(ctx), value, f"money:{ccy}", describe)


def _live_orders(ctx: Context, since: Any) -> list[tuple[int, int, str, float, float | None, str, str]]:
    """Child orders created since `since` that are still live: (acct idx, sec idx, side, qty, limit, ref, id)."""
    if ctx.session is None:
        return []
    rows = ctx.session.execute(
        select(
            Account.code,
            Security.symbol,
            Order.side,
            Order.quantity,
            Order.limit_price,
            Order.cl_ord_id,
            Order.id,
        )
        .join(Account, Account.id == Order.account_id)
        .join(Security, Security.id == Order.security_id)
        .where(Order.created_at >= since, Order.status.not_in(DEAD_ORDER_STATES))
    ).all()
    if not rows:
        return []
    refs = {o.ref for o in ctx.o.intents if o.ref}
    out = []
    for code, sym, side, q, lp, cl, oid in rows:
        if cl in refs or str(oid) in refs:
            continue
        out.append(
            (
                ctx.book.acct_index.get(code, -1),
                ctx.book.sec_index.get(sym, -1),
                str(side),
                float(q),
                None if lp is None else float(lp),
                code,
                sym,
            )
        )
    return out


@template(
    "duplicate_order",
    "order",
    "Duplicate order (same account, security, side and quantity within a window)",
    {"window_seconds": Param(float, 60.0, "how close in time two orders count as duplicates")},
)
def duplicate_order(ctx: Context, p: dict[str, Any]) -> Eval:
    o = ctx.o
    ns = ctx.book.n_securities
    key1 = (o.a * ns + o.s) * 2 + (o.sign > 0)
    key2 = np.round(o.qty * 1e6).astype(np.int64)
    # rank of each order among identical earlier ones in the batch
    order = np.lexsort((np.arange(ctx.n), key2, key1))
    k1, k2 = key1[order], key2[order]
    new = np.r_[True, (k1[1:] != k1[:-1]) | (k2[1:] != k2[:-1])] if ctx.n else np.zeros(0, dtype=bool)
    start = (
        np.maximum.accumulate(np.where(new, np.arange(ctx.n), 0)) if ctx.n else np.zeros(0, dtype=np.int64)
    )
    rank = np.empty(ctx.n)
    rank[order] = np.arange(ctx.n) - start
    earlier = rank
    window = p["window_seconds"]
    live = _live_orders(ctx, ctx.now - timedelta(seconds=window))
    if live:
        seen: dict[tuple[int, int], int] = {}
        for ai, si, side, q, _lp, _c, _s in live:
            if ai < 0 or si < 0:
                continue
            k = (int((ai * ns + si) * 2 + (side == "buy")), round(q * 1e6))
            seen[k] = seen.get(k, 0) + 1
        earlier = earlier + np.array([seen.get((int(x), int(y)), 0) for x, y in zip(key1, key2)], dtype=float)
    fail = earlier > 0

    def describe(i: int) -> str:
        acct, sym, side, q = _who(ctx, i)
        if fail[i]:
            return (
                f"{int(earlier[i])} identical order(s) ({acct} {side} {q} {sym}) within {num(window, 0)} seconds: "
                "possible duplicate."
            )
        return f"No identical order ({acct} {side} {q} {sym}) within {num(window, 0)} seconds."

    return Eval(np.ones(ctx.n, dtype=bool), fail, _full(ctx, 0.0), _nan(ctx), earlier, "count", describe)


def _daily(
    ctx: Context,
    p: dict[str, Any],
    group: np.ndarray,
    names: list[str],
    label: str,
    code_group: dict[str, int],
) -> Eval:
    """Cumulative notional today per group (existing live orders + this batch in order)."""
    ccy = p["currency"]
    value = ctx.notional_in(ccy)
    midnight = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    existing = np.zeros(len(names) + 1)
    to = ctx.book.ccy(ccy)
    for _ai, si, _side, q, lp, code, _sym in _live_orders(ctx, midnight):
        g = code_group.get(code, -1)
        if si < 0 or g < 0:
            continue
        px = lp if lp is not None else ctx.price[si]
        existing[g] += q * px * ctx.mult[si] * ctx.book.fx[ctx.sec_c[si], to]
    og = group[ctx.o.a]
    relevant = og >= 0
    safe = np.where(relevant, og, len(names))
    order = np.argsort(safe, kind="stable")
    sorted_vals = (value * ctx.w)[order]  # a blocked order adds to no other order's day
    cs = np.cumsum(sorted_vals)
    grp = safe[order]
    starts = np.r_[0, np.flatnonzero(np.diff(grp)) + 1] if ctx.n else np.zeros(0, dtype=np.int64)
    offs = np.repeat(cs[starts] - sorted_vals[starts], np.diff(np.r_[starts, ctx.n]))
    cum = np.empty(ctx.n)
    cum[order] = cs - offs
    after = existing[safe] + cum + ctx.own * value
    before = after - value
    limit = _full(ctx, p["max_notional"])
    fail = relevant & (after > limit + EPS)

    def describe(i: int) -> str:
        if not relevant[i]:
            return f"{_who(ctx, i)[0]} belongs to no desk under this limit: it does not apply."
        who = names[og[i]]
        return (
            f"{label} {who} traded {money(before[i], ccy)} today before this order and {money(after[i], ccy)} "
            f"with it, {'above' if fail[i] else 'within'} the daily limit {money(limit[i], ccy)}."
        )

    return Eval(relevant, fail, limit, before, after, f"money:{ccy}", describe)


_LIMIT = {
    "max_notional": Param(float, help="largest total notional of the day's orders"),
    "currency": Param(str, "USD", "currency of the limit"),
}


@template("daily_notional_account", "order", "Daily notional credit limit per account", _LIMIT)
def daily_notional_account(ctx: Context, p: dict[str, Any]) -> Eval:
    names = [str(c) for c in ctx.book.acct["code"]]
    return _daily(ctx, p, np.arange(ctx.book.n_accounts), names, "Account", ctx.book.acct_index)


@template(
    "daily_notional_desk",
    "order",
    "Daily notional credit limit per desk",
    {**_LIMIT, "desk": Param(str, None, "only this desk (default: every desk)")},
)
def daily_notional_desk(ctx: Context, p: dict[str, Any]) -> Eval:
    desk_of: dict[str, str] = {}
    if ctx.session is not None:
        desk_of = {
            str(a): str(d) for a, d in ctx.session.execute(select(DeskAccount.account_code, DeskAccount.desk))
        }
    names = sorted(set(desk_of.values()))
    if p["desk"]:
        names = [n for n in names if n == p["desk"]]
    index = {n: i for i, n in enumerate(names)}
    code_group = {a: index[d] for a, d in desk_of.items() if d in index}
    group = np.array([code_group.get(str(c), -1) for c in ctx.book.acct["code"]], dtype=np.int64)
    return _daily(ctx, p, group, names, "Desk", code_group)


# --- tax ---------------------------------------------------------------------------------------
@template(
    "wash_sale",
    "tax",
    "Wash sale in a US taxable account (loss with a replacement within 30 days)",
    {"window_days": Param(float, 30.0, "days before and after a loss sale (IRC 1091: 30)")},
    reach="household",  # replacement lots in any account of the household
)
def wash_sale(ctx: Context, p: dict[str, Any]) -> Eval:
    b = ctx.book
    acct = b.acct
    us_taxable = ((acct["tax_jurisdiction"] == "US") & (acct["tax_status"] == "taxable")).to_numpy()
    hh = acct["household_id"].to_numpy(dtype=np.int64)
    ns = b.n_securities
    window = p["window_days"]
    # cost per share in base and the loss of a sell at the trade price
    cost_keys = b.pos_a * ns + b.pos_s
    okeys = ctx.o.a * ns + ctx.o.s
    cost = _sum_lookup(cost_keys, b.pos_cost_base, okeys)
    held = _sum_lookup(cost_keys, b.pos_q, okeys)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit_cost = np.where(held > 0, cost / held, np.nan)
    unit_proceeds = ctx.px_trade * ctx.mult[ctx.o.s] * ctx.fx_base
    loss = np.where(
        ctx.o.sign < 0, (unit_cost - unit_proceeds) * np.minimum(ctx.o.qty, np.maximum(held, 0)), 0.0
    )
    loss_sale = (ctx.o.sign < 0) & (loss > EPS)
    # household-level replacements: lots bought within the window, or buys in this batch
    hkeys_pos = hh[b.pos_a] * ns + b.pos_s
    recent = b.pos_last_buy <= window
    recent_keys = np.unique(hkeys_pos[recent])
    days_since = _min_lookup(hkeys_pos, b.pos_last_buy, hh[ctx.o.a] * ns + ctx.o.s)
    ohk = hh[ctx.o.a] * ns + ctx.o.s
    batch_buy = np.isin(ohk, ohk[(ctx.o.sign > 0) & ctx.counted])  # a blocked buy replaces nothing
    batch_loss_sale = np.isin(ohk, ohk[loss_sale & us_taxable[ctx.o.a] & ctx.counted])
    recent_losses = _recent_loss_sales(ctx, window)  # (household id, security idx) -> (loss, date)
    hh_sec = [(int(hh[a]), int(s)) for a, s in zip(ctx.o.a, ctx.o.s)] if recent_losses else []
    sold_at_loss = (
        np.array([k in recent_losses for k in hh_sec], dtype=bool)
        if recent_losses
        else np.zeros(ctx.n, dtype=bool)
    )
    # A replacement bought in any US account of the household counts, an IRA included
    # (Rev. Rul. 2008-5: the loss is then lost for good); the loss sale itself is in a taxable one.
    us = (acct["tax_jurisdiction"] == "US").to_numpy()
    relevant = us_taxable[ctx.o.a] | ((ctx.o.sign > 0) & us[ctx.o.a] & (batch_loss_sale | sold_at_loss))
    sell_fail = loss_sale & (np.isin(ohk, recent_keys) | batch_buy)
    buy_fail = (ctx.o.sign > 0) & (batch_loss_sale | sold_at_loss)
    fail = relevant & (sell_fail | buy_fail)

    def describe(i: int) -> str:
        acct_code, sym, side, q = _who(ctx, i)
        ccy = _base(ctx, i)
        hcode = str(acct["household"].iat[ctx.o.a[i]])
        if not relevant[i]:
            return f"{acct_code} is not a US taxable account: wash-sale rules do not apply."
        if fail[i] and side == "sell":
            when = (
                f"bought {int(days_since[i])} days ago"
                if np.isfinite(days_since[i]) and days_since[i] <= window
                else "bought in this same batch"
            )
            return (
                f"Selling {q} {sym} realises a loss of {money(loss[i], ccy)} while household {hcode} {when} "
                f"(within {int(window)} days): the loss would be disallowed as a wash sale."
            )
        if fail[i] and sold_at_loss[i] and not batch_loss_sale[i]:
            amount, sold_on = recent_losses[hh_sec[i]]
            return (
                f"Buying {q} {sym}: household {hcode} sold {sym} at a loss of {money(amount, ccy)} on {sold_on} "
                f"(within {int(window)} days): that loss would be disallowed as a wash sale."
            )
        if fail[i]:
            return (
                f"Buying {q} {sym} replaces shares that household {hcode} sells at a loss in this batch "
                f"(within {int(window)} days): that loss would be disallowed as a wash sale."
            )
        if side == "sell":
            return f"Selling {q} {sym}: loss {money(max(loss[i], 0.0), ccy)}, no replacement within {int(window)} days."
        return f"Buying {q} {sym}: no loss sale of {sym} in household {hcode} within {int(window)} days."

    return Eval(relevant, fail, _full(ctx, window), _nan(ctx), loss, "money:base", describe)


def _recent_loss_sales(ctx: Context, window: float) -> dict[tuple[int, int], tuple[float, date]]:
    """Loss sales booked by accounting within the window, per (household id, security index):
    total loss in base currency and the latest sale date (a buy now would replace them)."""
    if ctx.session is None:
        return {}
    from engine.accounting.tables import RealizedGain

    since = ctx.book.as_of - timedelta(days=int(window))
    rows = ctx.session.execute(
        select(Account.household_id, Security.symbol, RealizedGain.gain_base, RealizedGain.sold)
        .join(Account, Account.id == RealizedGain.account_id)
        .join(Security, Security.id == RealizedGain.security_id)
        .where(
            RealizedGain.sold >= since,
            RealizedGain.sold <= ctx.book.as_of,
            RealizedGain.gain_base < 0,
            Account.tax_jurisdiction == "US",
            Account.tax_status == "taxable",
        )
    ).all()
    out: dict[tuple[int, int], tuple[float, date]] = {}
    for hid, sym, gain, sold in rows:
        si = ctx.book.sec_index.get(sym)
        if si is None:
            continue
        key = (int(hid), si)
        loss, last = out.get(key, (0.0, sold))
        out[key] = (loss - float(gain), max(last, sold))
    return out


def _sum_lookup(keys: np.ndarray, vals: np.ndarray, query: np.ndarray) -> np.ndarray:
    from engine.compliance.projection import _group_sum

    return _group_sum(keys, vals, query)


def _min_lookup(keys: np.ndarray, vals: np.ndarray, query: np.ndarray) -> np.ndarray:
    if len(keys) == 0:
        return np.full(len(query), np.inf)
    order = np.lexsort((vals, keys))
    k, v = keys[order], vals[order]
    first = np.r_[True, k[1:] != k[:-1]]
    uk, uv = k[first], v[first]
    pos = np.clip(np.searchsorted(uk, query), 0, len(uk) - 1)
    return np.where(uk[pos] == query, uv[pos], np.inf)


# --- market and client -----------------------------------------------------------------------
@template(
    "market_restriction",
    "market",
    "Security not tradeable in the account's jurisdiction",
    {
        "jurisdictions": Param(list, help="account tax jurisdictions (ISO countries) the restriction covers"),
        "mics": Param(list, [], "restricted venues (MIC)"),
        "countries": Param(list, [], "restricted security countries (ISO)"),
        "sides": Param(list, ["buy"], "which sides are stopped"),
    },
)
def market_restriction(ctx: Context, p: dict[str, Any]) -> Eval:
    juris = ctx.book.acct["tax_jurisdiction"].isin(p["jurisdictions"]).to_numpy()
    sec = ctx.book.sec
    bad = (sec["mic"].isin(p["mics"]) | sec["country"].isin(p["countries"])).to_numpy()
    sides = {"buy": 1.0, "sell": -1.0}
    relevant = juris[ctx.o.a] & np.isin(ctx.o.sign, [sides[x] for x in p["sides"] if x in sides])
    fail = relevant & bad[ctx.o.s]
    value = ctx.notional_local * ctx.fx_base

    def describe(i: int) -> str:
        acct, sym, side, q = _who(ctx, i)
        mic = sec["mic"].iat[ctx.o.s[i]]
        country = sec["country"].iat[ctx.o.s[i]]
        j = ctx.book.acct["tax_jurisdiction"].iat[ctx.o.a[i]]
        if fail[i]:
            return (
                f"{sym} trades on {mic} ({country}), a market closed to {j} accounts: {side} {q} "
                f"({money(value[i], _base(ctx, i))}) for {acct} is not allowed."
            )
        return f"{sym} ({mic}, {country}) may be traded by {j} account {acct}."

    return Eval(relevant, fail, _nan(ctx), _nan(ctx), value, "money:base", describe)


@template("kyc_sell_only", "client", "KYC/AML review missing or expired: sells only", {})
def kyc_sell_only(ctx: Context, p: dict[str, Any]) -> Eval:
    acct = ctx.book.acct
    status = acct["kyc_status"].to_numpy(dtype=object)
    review = acct["kyc_review_date"]
    due = np.array([d is None or d < ctx.book.as_of for d in review], dtype=bool)
    lapsed = (status != "approved") | due
    relevant = _buys(ctx)
    fail = relevant & lapsed[ctx.o.a]
    days = np.array([(ctx.book.as_of - d).days if d is not None else np.nan for d in review], dtype=float)

    def describe(i: int) -> str:
        code, sym, _side, q = _who(ctx, i)
        a = ctx.o.a[i]
        if fail[i]:
            overdue = (
                f"review overdue by {int(days[a])} days"
                if np.isfinite(days[a]) and days[a] > 0
                else "no review date"
            )
            return f"{code}'s KYC status is {status[a]} ({overdue}): only sells are allowed, not a buy of {q} {sym}."
        if not relevant[i]:
            return f"Sells are allowed whatever {code}'s KYC status ({status[a]})."
        return f"{code}'s KYC is {status[a]}, next review {review.iat[a]} ({int(-days[a])} days ahead)."

    return Eval(relevant, fail, _full(ctx, 0.0), _nan(ctx), days[ctx.o.a], "days", describe)


@template("client_restriction", "client", "Security restricted by client type or domicile (buys)", {})
def client_restriction(ctx: Context, p: dict[str, Any]) -> Eval:
    sec, acct = ctx.book.sec, ctx.book.acct
    index: dict[str, int] = {}
    allowed_t = np.array([_bits(t, index) for t in sec["restricted_client_types"]], dtype=np.int64)
    allowed_d = np.array([_bits(d, index) for d in sec["restricted_domiciles"]], dtype=np.int64)
    acct_t = np.array([_bits([t], index) for t in acct["client_type"]], dtype=np.int64)
    acct_d = np.array([_bits([d], index) for d in acct["domicile"]], dtype=np.int64)
    at, ad = allowed_t[ctx.o.s], allowed_d[ctx.o.s]
    bad_type = (at != 0) & ((at & acct_t[ctx.o.a]) == 0)
    bad_dom = (ad != 0) & ((ad & acct_d[ctx.o.a]) == 0)
    ct = acct["client_type"].to_numpy(dtype=object)
    dm = acct["domicile"].to_numpy(dtype=object)
    types = sec["restricted_client_types"].to_numpy(dtype=object)
    doms = sec["restricted_domiciles"].to_numpy(dtype=object)
    relevant = _buys(ctx)
    fail = relevant & (bad_type | bad_dom)
    value = ctx.notional_local * ctx.fx_base

    def describe(i: int) -> str:
        code, sym, _side, q = _who(ctx, i)
        if fail[i]:
            why = []
            si, ai = ctx.o.s[i], ctx.o.a[i]
            if bad_type[i]:
                why.append(f"only for {', '.join(types[si])} clients, {code} is {ct[ai]}")
            if bad_dom[i]:
                why.append(f"only for {', '.join(doms[si])} clients, {code} is {dm[ai]}")
            return f"{sym} is {'; '.join(why)}: buying {q} ({money(value[i], _base(ctx, i))}) is not allowed."
        return f"{sym} is open to {ct[ctx.o.a[i]]} {dm[ctx.o.a[i]]} clients like {code}."

    return Eval(relevant, fail, _nan(ctx), _nan(ctx), value, "money:base", describe)
