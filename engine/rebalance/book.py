"""Load the book once, vectorized: the security universe, prices, FX, models and account inputs.

Everything the optimiser needs is turned into numpy arrays indexed by a dense security index,
so worker processes receive one `Universe` and then small `AccountInput`s in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.corporate.pending import PendingAction, pending_actions
from engine.errors import NotFound
from engine.oms.tables import Execution, Order
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices, latest_price_date
from engine.pricing.staleness import StaleItem, fx_last_dates, load_policy, stale_fx, stale_prices
from engine.pricing.valuation import load_lots
from engine.rebalance.model_triggers import accounts_with_new_model_weights
from engine.rebalance.settings import BOND_COST, DEFAULT_MARKET_COST, MARKET_COST
from engine.store.accounts import Account, AccountExclusion, Model, ModelComponent
from engine.store.meta import BookMeta
from engine.store.positions import CashBalance
from engine.store.reference import Exchange, Security

if TYPE_CHECKING:
    from engine.rebalance.households import HouseholdSpec
    from engine.rebalance.tax_year import TaxYear

FX_HORIZON_DAYS = 31


@dataclass
class Universe:
    """Dense per-security arrays shared by every account of a run (shipped once per worker)."""

    as_of: date
    ids: np.ndarray
    symbols: np.ndarray
    currency: np.ndarray
    mic: np.ndarray
    sector: np.ndarray
    country: np.ndarray
    issuer: np.ndarray
    asset_class: np.ndarray
    lot_size: np.ndarray
    multiplier: np.ndarray
    price: np.ndarray  # local close
    cost: np.ndarray  # one-way cost fraction
    wash_group: np.ndarray  # ADRs map to their ordinary: same group = substantially identical
    esg_flags: list[frozenset[str]]
    esg_score: np.ndarray
    restricted_client_types: list[frozenset[str]]
    restricted_domiciles: list[frozenset[str]]
    fx_to: dict[str, dict[str, float]]  # base -> currency -> units of base per unit of currency
    models: dict[int, np.ndarray]  # model id -> look-through weights over the universe
    model_codes: dict[int, str]
    exposures: np.ndarray | None = None  # N x k, scaled so that var = |B'd|^2 + |s*d|^2
    specific: np.ndarray | None = None  # N, specific volatility
    settle: np.ndarray | None = None  # N, datetime64[D]: settle date of a sale (attach_settlement)
    # Stale prices by universe index and stale FX by currency (engine.pricing.staleness): an
    # account that holds, or whose model holds, such a security (or needs such a rate) is suspended.
    stale: dict[int, StaleItem] = field(default_factory=dict)
    stale_fx: dict[str, StaleItem] = field(default_factory=dict)
    # Unbooked corporate actions by universe index (engine.corporate.pending): an account holding
    # such a security is suspended until the action is booked.
    pending: dict[int, list[PendingAction]] = field(default_factory=dict)

    def index_of(self) -> dict[int, int]:
        return {int(s): i for i, s in enumerate(self.ids)}

    def price_base(self, base: str) -> np.ndarray:
        """Value of one unit of each security in `base` (close x multiplier x FX)."""
        fx = self.fx_to[base]
        return self.price * self.multiplier * np.array([fx[c] for c in self.currency])


@dataclass
class AccountInput:
    """One account's positions and mandate, in universe indices (float64, converted once here)."""

    id: int
    code: str
    household_id: int
    base: str
    tax_status: str
    jurisdiction: str
    model_id: int | None
    cash_target: float
    cash_floor: float
    band: float
    relief: str
    keep_legacy: bool
    excluded: np.ndarray  # universe indices the account may not hold
    exclusion_reason: dict[int, str]
    lot_sec: np.ndarray
    lot_qty: np.ndarray
    lot_cost: np.ndarray
    lot_fx: np.ndarray
    lot_acquired: np.ndarray  # datetime64[D]
    lot_id: np.ndarray
    cash: dict[str, float]
    wash_blocked: dict[int, str] = field(default_factory=dict)  # group -> why no buy allowed
    recent_buys: set[int] = field(default_factory=set)  # groups bought in the household <= 30 days
    new_model_weights: bool = False  # the model (or a sub-model) changed after the last proposal
    last_harvest: date | None = None  # last realized loss in the ledger (engine.rebalance.harvest)
    group: HouseholdSpec | None = None  # its household's group: solved with it (engine.rebalance.households)
    year: TaxYear | None = None  # the tax year from the ledger and budgets (engine.rebalance.tax_year)


def _flatten_models(rows: pd.DataFrame, index: dict[int, int], n: int) -> dict[int, np.ndarray]:
    comps: dict[int, list[tuple[int | None, int | None, float]]] = {}
    for m, s, sub, w in rows.itertuples(index=False):
        comps.setdefault(int(m), []).append(
            (None if pd.isna(s) else int(s), None if pd.isna(sub) else int(sub), float(w))
        )
    cache: dict[int, np.ndarray] = {}

    def walk(mid: int, depth: int = 0) -> np.ndarray:
        if mid in cache:
            return cache[mid]
        if depth > 20:
            raise NotFound(f"model id {mid}: sub-models nest too deep (a cycle?)")
        out = np.zeros(n)
        for s, sub, w in comps.get(mid, []):
            if s is not None:
                out[index[s]] += w
            elif sub is not None:
                out += w * walk(sub, depth + 1)
        cache[mid] = out
        return out

    return {mid: walk(mid) for mid in comps}


def book_as_of(session: Session) -> date:
    meta = dict(session.execute(select(BookMeta.key, BookMeta.value)).all())
    if "as_of" in meta:
        return date.fromisoformat(meta["as_of"])
    d = latest_price_date(session)
    if d is None:
        raise NotFound("the book has no prices")
    return d


def load_universe(session: Session, as_of: date) -> Universe:
    secs = pd.DataFrame(
        session.execute(
            select(
                Security.id,
                Security.symbol,
                Security.currency,
                Security.mic,
                Security.sector,
                Security.country,
                Security.issuer,
                Security.asset_class,
                Security.lot_size,
                cast(Security.price_multiplier, Float),
                Security.esg_flags,
                cast(Security.esg_score, Float),
                Security.adr_ordinary_id,
                Security.restricted_client_types,
                Security.restricted_domiciles,
            ).order_by(Security.id)
        ).all(),
        columns=[
            "id", "symbol", "currency", "mic", "sector", "country", "issuer", "asset_class",
            "lot_size", "mult", "esg_flags", "esg_score", "ordinary", "rct", "rdom",
        ],
    )  # fmt: skip
    index = {int(s): i for i, s in enumerate(secs["id"])}
    px = last_prices(session, as_of)
    price = secs["id"].map(px["close"]).to_numpy(dtype=float) if len(px) else np.full(len(secs), np.nan)
    # Rates up to FX_HORIZON_DAYS old still convert (accounts that need a rate older than the
    # stale policy allows are suspended, not valued on it); older than that is an error.
    fx = FxTable.load(session, start=as_of - timedelta(days=10), end=as_of, max_stale_days=FX_HORIZON_DAYS)
    ccys = sorted(set(secs["currency"]) | set(session.scalars(select(Account.base_currency).distinct())))
    cash_ccys = set(session.scalars(select(CashBalance.currency).distinct()))
    ccys = sorted(set(ccys) | cash_ccys)
    fx_to: dict[str, dict[str, float]] = {}
    for base in ccys:
        r = fx.rates(ccys, [base] * len(ccys), as_of)
        fx_to[base] = dict(zip(ccys, map(float, r)))
    cost = np.array(
        [
            BOND_COST if ac == "fixed_income" else MARKET_COST.get(m, DEFAULT_MARKET_COST)
            for m, ac in zip(secs["mic"], secs["asset_class"])
        ]
    )
    wash = np.array(
        [index[int(o)] if not pd.isna(o) else i for i, o in enumerate(secs["ordinary"])], dtype=int
    )
    comp = pd.DataFrame(
        session.execute(
            select(
                ModelComponent.model_id,
                ModelComponent.security_id,
                ModelComponent.sub_model_id,
                cast(ModelComponent.weight, Float),
            )
        ).all(),
        columns=["model_id", "security_id", "sub_model_id", "weight"],
    )
    models = _flatten_models(comp, index, len(secs))
    codes = dict(session.execute(select(Model.id, Model.code)).all())
    stale, stale_rates = _staleness(session, as_of, secs, px, ccys)
    return Universe(
        as_of=as_of,
        ids=secs["id"].to_numpy(dtype=int),
        symbols=secs["symbol"].to_numpy(dtype=object),
        currency=secs["currency"].to_numpy(dtype=object),
        mic=secs["mic"].to_numpy(dtype=object),
        sector=secs["sector"].to_numpy(dtype=object),
        country=secs["country"].to_numpy(dtype=object),
        issuer=secs["issuer"].to_numpy(dtype=object),
        asset_class=secs["asset_class"].to_numpy(dtype=object),
        lot_size=secs["lot_size"].to_numpy(dtype=float),
        multiplier=secs["mult"].to_numpy(dtype=float),
        price=price,
        cost=cost,
        wash_group=wash,
        esg_flags=[frozenset(f or ()) for f in secs["esg_flags"]],
        esg_score=secs["esg_score"].to_numpy(dtype=float),
        restricted_client_types=[frozenset(x or ()) for x in secs["rct"]],
        restricted_domiciles=[frozenset(x or ()) for x in secs["rdom"]],
        fx_to=fx_to,
        models=models,
        model_codes={int(k): v for k, v in codes.items()},
        stale={index[sid]: item for sid, item in stale.items()},
        stale_fx=stale_rates,
        pending={index[sid]: items for sid, items in pending_actions(session, as_of).items() if sid in index},
    )


def _staleness(
    session: Session, as_of: date, secs: pd.DataFrame, px: pd.DataFrame, ccys: list[str]
) -> tuple[dict[int, StaleItem], dict[str, StaleItem]]:
    """Stale prices (by security id) and FX (by currency) as of the book's date, under the stored
    policy. Securities priced on the date itself are fresh without asking a calendar."""
    policy = load_policy(session)
    last = secs["id"].map(px["date"]) if len(px) else pd.Series(None, index=secs.index, dtype=object)
    old = last.isna() | (pd.to_datetime(last) < pd.Timestamp(as_of))
    cand = secs.loc[old, ["id", "symbol", "asset_class", "mic"]].assign(last=last[old])
    cals = dict(session.execute(select(Exchange.mic, Exchange.calendar)).all())
    cand = cand.assign(calendar=cand["mic"].map(cals)).rename(columns={"id": "security_id"})
    prices = stale_prices(cand, policy, as_of) if len(cand) else {}
    rates = stale_fx(fx_last_dates(session, as_of, ccys), policy, as_of) if len(ccys) > 1 else {}
    return prices, rates


_SCREEN_CACHE: dict[tuple[Any, ...], dict[int, str]] = {}


def _exclusions(u: Universe, acct: Any, explicit: list[int]) -> tuple[np.ndarray, dict[int, str]]:
    """Universe indices the account may not hold, each with its reason (first reason wins)."""
    key = (
        id(u),
        tuple(acct.excluded_sectors or ()),
        tuple(sorted(acct.esg_exclusions or ())),
        None if acct.min_esg_score is None else float(acct.min_esg_score),
        acct.client_type,
        acct.domicile,
    )
    screened = _SCREEN_CACHE.get(key)
    if screened is None:
        screened = _SCREEN_CACHE[key] = _screens(u, acct)
    why = {i: "client exclusion" for i in explicit}
    for i, reason in screened.items():
        why.setdefault(i, reason)
    return np.array(sorted(why), dtype=int), why


def _screens(u: Universe, acct: Any) -> dict[int, str]:
    """Exclusions that follow from the mandate alone (sectors, ESG, eligibility), cached by mandate."""
    why: dict[int, str] = {}
    if acct.excluded_sectors:
        for i in np.flatnonzero(np.isin(u.sector, list(acct.excluded_sectors))):
            why.setdefault(int(i), f"sector exclusion {u.sector[i]}")
    screens = set(acct.esg_exclusions or ())
    if screens:
        for j, flags in enumerate(u.esg_flags):
            hit = flags & screens
            if hit:
                why.setdefault(j, f"ESG exclusion {sorted(hit)[0].replace('_', ' ')}")
    if acct.min_esg_score is not None:
        low = np.flatnonzero(
            np.isin(u.asset_class, ["equity", "adr"]) & (u.esg_score < float(acct.min_esg_score))
        )
        for i in low:
            why.setdefault(int(i), f"ESG score below {float(acct.min_esg_score):g}")
    for k, (ct, dom) in enumerate(zip(u.restricted_client_types, u.restricted_domiciles)):
        if ct and acct.client_type not in ct:
            why.setdefault(k, f"not eligible for {acct.client_type} clients")
        elif dom and acct.domicile not in dom:
            why.setdefault(k, f"not eligible for {acct.domicile} domicile")
    return why


def _wash_history(
    session: Session, u: Universe, as_of: date, accounts: pd.DataFrame
) -> tuple[dict[int, dict[int, str]], dict[int, set[int]]]:
    """Per household: groups sold at a loss in the last 30 days, and groups bought in that window.

    Loss sales are read from sell executions: an order whose lot_instructions carry a negative
    `gain`, or (without instructions) a fill price below the account's average unit cost.
    Recent buys come from lots acquired within 30 days and from buy executions.
    """
    index = u.index_of()
    start = as_of - timedelta(days=30)
    hh_of = dict(zip(accounts["id"], accounts["household_id"]))
    blocked: dict[int, dict[int, str]] = {}
    recent: dict[int, set[int]] = {}
    rows = session.execute(
        select(
            Order.account_id,
            Order.security_id,
            Order.side,
            Order.lot_instructions,
            cast(Execution.last_px, Float),
            Execution.transact_time,
            Execution.received_at,
        )
        .join(Execution, Execution.order_id == Order.id)
        .where(Execution.received_at >= pd.Timestamp(start, tz="UTC").to_pydatetime())
        .where(Order.account_id.is_not(None))
    ).all()
    lots = load_lots(session, sorted({int(r[0]) for r in rows})) if rows else None
    for acct_id, sec_id, side, instr, px, tt, rcv in rows:
        hh = hh_of.get(acct_id)
        if hh is None or sec_id not in index:
            continue
        g = int(u.wash_group[index[sec_id]])
        when = (tt or rcv).date()
        if side == "buy":
            recent.setdefault(hh, set()).add(g)
            continue
        loss = False
        if instr:
            loss = any(float(x.get("gain", 0) or 0) < 0 for x in instr if isinstance(x, dict))
        elif lots is not None:
            sel = lots[(lots["account_id"] == acct_id) & (lots["security_id"] == sec_id)]
            if len(sel):
                avg = float((sel["quantity"] * sel["unit_cost"]).sum() / sel["quantity"].sum())
                loss = px < avg
        if loss:
            blocked.setdefault(hh, {})[g] = f"wash sale: {u.symbols[index[sec_id]]} sold at a loss on {when}"
    return blocked, recent


def load_accounts(session: Session, u: Universe, account_ids: list[int] | None = None) -> list[AccountInput]:
    """Account inputs for the given accounts (all when None), with household wash-sale history."""
    q = select(Account).order_by(Account.household_id, Account.id)
    if account_ids is not None:
        q = q.where(Account.id.in_(account_ids))
    accts = list(session.scalars(q))
    if not accts:
        return []
    ids = [a.id for a in accts]
    index = u.index_of()
    frame = pd.DataFrame({"id": ids, "household_id": [a.household_id for a in accts]})
    lots = load_lots(session, ids if account_ids is not None else None)
    lots = lots.sort_values(["account_id", "security_id", "acquired"]) if len(lots) else lots
    excl_rows = session.execute(select(AccountExclusion.account_id, AccountExclusion.security_id)).all()
    explicit: dict[int, list[int]] = {}
    for a, s in excl_rows:
        explicit.setdefault(int(a), []).append(index[int(s)])
    cash_rows = session.execute(
        select(
            CashBalance.account_id,
            CashBalance.currency,
            cast(CashBalance.settled, Float),
            cast(CashBalance.unsettled, Float),
        )
    ).all()
    cash: dict[int, dict[str, float]] = {}
    for a, c, s, us in cash_rows:
        cash.setdefault(int(a), {})[c] = cash.get(int(a), {}).get(c, 0.0) + float(s) + float(us or 0.0)
    blocked, recent = _wash_history(session, u, u.as_of, frame)
    new_weights = accounts_with_new_model_weights(session)
    # Lots acquired within 30 days count as recent household purchases (harvesting them would wash).
    window = np.datetime64(u.as_of - timedelta(days=30), "D")
    acquired = (
        lots["acquired"].to_numpy(dtype="datetime64[D]") if len(lots) else np.array([], dtype="datetime64[D]")
    )
    hh_of = dict(zip(frame["id"], frame["household_id"]))
    if len(lots):
        fresh = lots[acquired >= window]
        for a, s in zip(fresh["account_id"], fresh["security_id"]):
            recent.setdefault(hh_of[a], set()).add(int(u.wash_group[index[int(s)]]))
    groups = {int(a): g for a, g in lots.groupby("account_id").indices.items()} if len(lots) else {}
    lot_sec = lots["security_id"].map(index).to_numpy(dtype=int) if len(lots) else np.array([], dtype=int)
    qty = lots["quantity"].to_numpy(dtype=float) if len(lots) else np.array([])
    ucost = lots["unit_cost"].to_numpy(dtype=float) if len(lots) else np.array([])
    lfx = lots["fx_rate"].to_numpy(dtype=float) if len(lots) else np.array([])
    lid = lots["lot_id"].to_numpy(dtype=int) if len(lots) else np.array([], dtype=int)
    out = []
    for acct in accts:
        rows = groups.get(acct.id, np.array([], dtype=int))
        excluded, why = _exclusions(u, acct, explicit.get(acct.id, []))
        out.append(
            AccountInput(
                id=acct.id,
                code=acct.code,
                household_id=acct.household_id,
                base=acct.base_currency,
                tax_status=acct.tax_status,
                jurisdiction=acct.tax_jurisdiction,
                model_id=acct.model_id,
                cash_target=float(acct.cash_target),
                cash_floor=float(acct.cash_floor),
                band=float(acct.drift_band),
                relief=acct.lot_relief,
                keep_legacy=bool(acct.keep_legacy),
                excluded=excluded,
                exclusion_reason=why,
                lot_sec=lot_sec[rows],
                lot_qty=qty[rows],
                lot_cost=ucost[rows],
                lot_fx=lfx[rows],
                lot_acquired=acquired[rows],
                lot_id=lid[rows],
                cash=cash.get(acct.id, {}),
                wash_blocked=dict(blocked.get(acct.household_id, {})),
                recent_buys=set(recent.get(acct.household_id, set())),
                new_model_weights=acct.id in new_weights,
            )
        )
    return out


def attach_settlement(session: Session, u: Universe, trade_date: date) -> None:
    """Settle date of a sale of each security traded on `trade_date` (or its exchange's next
    session): the exchange's cycle in force, counted in its sessions (engine.accounting.settlement)."""
    from engine.accounting.settlement import _sessions, add_sessions, cycle_days
    from engine.store.reference import Exchange

    out = np.full(len(u.ids), np.datetime64("NaT"), dtype="datetime64[D]")
    for mic in sorted(set(u.mic)):
        exchange = session.get(Exchange, mic)
        if exchange is None:
            raise NotFound(f"exchange {mic!r} is not in the reference data")
        sessions = _sessions(exchange.calendar)
        traded = add_sessions(sessions, trade_date, 0)
        out[u.mic == mic] = np.datetime64(
            add_sessions(sessions, traded, cycle_days(session, mic, traded)), "D"
        )
    u.settle = out
