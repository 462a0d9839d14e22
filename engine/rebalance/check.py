"""Exact post-rounding check of a proposal against every hard constraint (pure, reusable).

Works on plain values keyed by symbol so the compliance engine can call it on any proposal.
Returns the violations found, in a fixed order; the first one is reported as the binding
constraint. Quantities are exact numbers of shares/face; cash is checked per currency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

TOL_WEIGHT = 1e-9
TOL_CASH = 0.005  # half a cent (or yen): below the minor unit


@dataclass(frozen=True)
class SecurityFacts:
    currency: str
    price_base: float  # value of one unit in the account's base currency
    price_local: float  # value of one unit in its own currency (close x multiplier)
    lot_size: float
    sector: str
    country: str
    issuer: str
    wash_group: str  # substantially identical securities share it (ADR = its ordinary)
    cost: float  # one-way cost fraction
    fund: bool = False  # diversified funds (ETFs) are outside issuer caps


@dataclass(frozen=True)
class Limits:
    cash_floor: float
    sector_caps: dict[str, float] = field(default_factory=dict)
    country_cap: float | None = None
    issuer_cap: float | None = None
    max_turnover: float | None = None
    min_trade_base: float = 0.0
    gains_budget_base: float | None = None
    excluded: frozenset[str] = frozenset()
    keep_legacy: bool = False
    wash_blocked: frozenset[str] = frozenset()  # wash groups that may not be bought
    allow_buys: bool = True
    allow_sells: bool = True
    cash_min_base: float | None = None  # cash raise: base cash the proposal must reach
    fx_cost: float = 0.0
    late_settling: dict[str, str] = field(default_factory=dict)  # symbol -> settle date: no sale funds


@dataclass(frozen=True)
class LotFacts:
    symbol: str
    quantity: float
    gain_per_unit: float  # base currency


@dataclass(frozen=True)
class CheckTrade:
    symbol: str
    side: str  # "buy" or "sell"
    quantity: float
    lots: tuple[tuple[str, float], ...] = ()  # (lot id, quantity) for sells


@dataclass(frozen=True)
class CheckFx:
    currency: str  # the foreign currency bought or sold against base
    side: str  # "buy" or "sell" (of `currency`)
    amount: float  # in `currency`
    rate: float  # base per unit of currency


@dataclass(frozen=True)
class Violation:
    constraint: str
    detail: str

    def __str__(self) -> str:
        return f"{self.constraint}: {self.detail}"


@dataclass(frozen=True)
class Outcome:
    """The account after the proposal, with the violations."""

    violations: tuple[Violation, ...]
    holdings: dict[str, float]
    cash: dict[str, float]
    value_base: float
    turnover: float
    realized_gain_base: float
    cost_base: float

    @property
    def ok(self) -> bool:
        return not self.violations


def check_proposal(
    base: str,
    securities: dict[str, SecurityFacts],
    holdings: dict[str, float],
    lots: dict[str, LotFacts],
    cash: dict[str, float],
    fx_to_base: dict[str, float],
    limits: Limits,
    trades: list[CheckTrade],
    fx_trades: list[CheckFx],
) -> Outcome:
    """Apply the trades and FX to the account exactly and list every hard constraint broken."""
    v: list[Violation] = []
    hold = dict(holdings)
    money = dict(cash)
    lot_left = {k: lf.quantity for k, lf in lots.items()}
    traded = 0.0
    realized = 0.0
    cost = 0.0
    sold_at_loss: set[str] = set()
    seen: set[tuple[str, str]] = set()
    trims = _over_cap_before(securities, holdings, cash, fx_to_base, limits)
    for t in trades:
        s = securities.get(t.symbol)
        if s is None:
            v.append(Violation("unknown security", t.symbol))
            continue
        if t.quantity <= 0:
            v.append(Violation("quantity", f"{t.symbol} {t.side} {t.quantity:g} is not positive"))
            continue
        if (t.symbol, t.side) in seen:
            v.append(Violation("duplicate trade", f"{t.symbol} {t.side} appears twice"))
        seen.add((t.symbol, t.side))
        value_local = t.quantity * s.price_local
        value_base = t.quantity * s.price_base
        traded += value_base
        cost += value_base * s.cost
        held = hold.get(t.symbol, 0.0)
        closes = t.side == "sell" and abs(t.quantity - held) < 1e-9
        if abs(t.quantity / s.lot_size - round(t.quantity / s.lot_size)) > 1e-9 and not closes:
            v.append(Violation("round lot", f"{t.symbol} {t.quantity:g} is not a multiple of {s.lot_size:g}"))
        # A sale that closes a position, or trims a holding whose cap was already breached, may be
        # smaller than the minimum trade: the cap is the harder constraint.
        trim = t.side == "sell" and t.symbol in trims
        if value_base < limits.min_trade_base - 1e-9 and not closes and not trim:
            v.append(
                Violation(
                    "minimum trade size",
                    f"{t.symbol} {value_base:,.2f} {base} < {limits.min_trade_base:,.2f}",
                )
            )
        if t.side == "buy":
            if not limits.allow_buys:
                v.append(Violation("mode", f"buy of {t.symbol} in a sell-only run"))
            if t.symbol in limits.excluded:
                v.append(Violation("exclusion", f"buy of excluded {t.symbol}"))
            if s.wash_group in limits.wash_blocked:
                v.append(Violation("wash sale", f"buy of {t.symbol} within 30 days of a household loss sale"))
            hold[t.symbol] = held + t.quantity
            money[s.currency] = money.get(s.currency, 0.0) - value_local * (1 + s.cost)
        elif t.side == "sell":
            if not limits.allow_sells:
                v.append(Violation("mode", f"sell of {t.symbol} in a buy-only run"))
            if t.symbol in limits.late_settling:
                v.append(
                    Violation(
                        "settlement",
                        f"{t.symbol} settles {limits.late_settling[t.symbol]}, after the cash-raise date",
                    )
                )
            if t.quantity > held + 1e-9:
                v.append(Violation("no shorting", f"sell {t.quantity:g} {t.symbol} but hold {held:g}"))
            lot_total = 0.0
            for lot_id, q in t.lots:
                lf = lots.get(lot_id)
                if lf is None or lf.symbol != t.symbol:
                    v.append(Violation("lots exist", f"lot {lot_id} is not an open lot of {t.symbol}"))
                    continue
                if q > lot_left[lot_id] + 1e-9 or q <= 0:
                    v.append(Violation("lots exist", f"lot {lot_id} has {lot_left[lot_id]:g}, sells {q:g}"))
                lot_left[lot_id] -= q
                lot_total += q
                realized += q * lf.gain_per_unit
                if lf.gain_per_unit < 0:
                    sold_at_loss.add(s.wash_group)
            if abs(lot_total - t.quantity) > 1e-9:
                v.append(
                    Violation("lots exist", f"{t.symbol}: lots sum to {lot_total:g}, trade is {t.quantity:g}")
                )
            hold[t.symbol] = held - t.quantity
            money[s.currency] = money.get(s.currency, 0.0) + value_local * (1 - s.cost)
        else:
            v.append(Violation("side", f"{t.symbol}: unknown side {t.side!r}"))
    for t in trades:
        s = securities.get(t.symbol)
        if t.side == "buy" and s is not None and s.wash_group in sold_at_loss:
            v.append(Violation("wash sale", f"buy of {t.symbol} while the proposal sells it at a loss"))
    for f in fx_trades:
        base_amt = f.amount * f.rate
        fee = base_amt * limits.fx_cost
        cost += fee
        sign = 1.0 if f.side == "buy" else -1.0
        money[f.currency] = money.get(f.currency, 0.0) + sign * f.amount
        money[base] = money.get(base, 0.0) - sign * base_amt - fee
    for ccy, amt in sorted(money.items()):
        if amt < -TOL_CASH:
            v.append(Violation("no overdraft", f"{ccy} ends at {amt:,.2f}"))
    for sym, q in sorted(hold.items()):
        if q < -1e-9:
            v.append(Violation("no shorting", f"{sym} ends at {q:g}"))
    mv = {sym: q * securities[sym].price_base for sym, q in hold.items() if q > 1e-12 and sym in securities}
    cash_base = sum(a * fx_to_base.get(c, 0.0) for c, a in money.items())
    value = sum(mv.values()) + cash_base
    w = {sym: x / value for sym, x in mv.items()} if value > 0 else {}
    for sym in sorted(limits.excluded & set(w)):
        if not (limits.keep_legacy and hold[sym] <= holdings.get(sym, 0.0) + 1e-9):
            v.append(Violation("exclusion", f"{sym} still held ({w[sym]:.2%})"))
    aggs: dict[str, dict[str, float]] = {"sector": {}, "country": {}, "issuer": {}}
    by_sector, by_country, by_issuer = aggs["sector"], aggs["country"], aggs["issuer"]
    for sym, x in w.items():  # one pass, each sum in the same order as one pass per dimension
        sf = securities[sym]
        by_sector[sf.sector] = by_sector.get(sf.sector, 0.0) + x
        by_country[sf.country] = by_country.get(sf.country, 0.0) + x
        if not sf.fund:
            by_issuer[sf.issuer] = by_issuer.get(sf.issuer, 0.0) + x
    caps: tuple[tuple[str, Callable[[str], float | None]], ...] = (
        ("sector", lambda k: limits.sector_caps.get(k)),
        ("country", lambda k: limits.country_cap),
        ("issuer", lambda k: limits.issuer_cap),
    )
    for dim, cap_of in caps:
        for key, x in sorted(aggs[dim].items()):
            cap = cap_of(key)
            if cap is not None and x > cap + TOL_WEIGHT:
                v.append(Violation(f"{dim} cap", f"{key} {x:.2%} > {cap:.2%}"))
    if value > 0 and cash_base / value < limits.cash_floor - TOL_WEIGHT:
        v.append(Violation("cash floor", f"cash {cash_base / value:.2%} < floor {limits.cash_floor:.2%}"))
    if limits.cash_min_base is not None and cash_base < limits.cash_min_base - TOL_CASH:
        v.append(Violation("cash raise", f"cash {cash_base:,.2f} {base} < {limits.cash_min_base:,.2f}"))
    before = sum(q * securities[s].price_base for s, q in holdings.items() if s in securities)
    before += sum(a * fx_to_base.get(c, 0.0) for c, a in cash.items())
    turnover = traded / before if before > 0 else 0.0
    if limits.max_turnover is not None and turnover > limits.max_turnover + 1e-9:
        v.append(Violation("max turnover", f"{turnover:.2%} > {limits.max_turnover:.2%}"))
    if limits.gains_budget_base is not None and realized > limits.gains_budget_base + TOL_CASH:
        v.append(Violation("tax budget", f"realized gains {realized:,.2f} > {limits.gains_budget_base:,.2f}"))
    return Outcome(tuple(v), hold, money, value, turnover, realized, cost)


def _over_cap_before(
    securities: dict[str, SecurityFacts],
    holdings: dict[str, float],
    cash: dict[str, float],
    fx_to_base: dict[str, float],
    limits: Limits,
) -> frozenset[str]:
    """Symbols held in a sector, country or issuer (single names) over its cap before the trades."""
    mv = {k: q * securities[k].price_base for k, q in holdings.items() if k in securities and q > 0}
    value = sum(mv.values()) + sum(a * fx_to_base.get(c, 0.0) for c, a in cash.items())
    if value <= 0:
        return frozenset()
    out: set[str] = set()
    dims: tuple[tuple[Callable[[SecurityFacts], str | None], Callable[[str], float | None]], ...] = (
        (lambda f: f.sector, lambda k: limits.sector_caps.get(k)),
        (lambda f: f.country, lambda k: limits.country_cap),
        (lambda f: None if f.fund else f.issuer, lambda k: limits.issuer_cap),
    )
    for key_of, cap_of in dims:
        sums: dict[str, float] = {}
        for sym, x in mv.items():
            key = key_of(securities[sym])
            if key is not None:
                sums[key] = sums.get(key, 0.0) + x / value
        for key, w in sums.items():
            cap = cap_of(key)
            if cap is not None and w > cap + TOL_WEIGHT:
                out |= {sym for sym in mv if key_of(securities[sym]) == key}
    return frozenset(out)
