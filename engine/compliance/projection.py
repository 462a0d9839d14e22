"""Orders as arrays, and the projected post-trade portfolio they imply (all orders of a batch
for one account count together, as a proposal's trades do).

`counted` says which orders the other orders see: a hard-blocked order will not trade, so it must
not cover another order (a buy that makes a short sale look covered). An order not counted still
sees itself: its own "after" is the counted orders' projection plus its own trade.

Holdings are valued at the last close; cash moves at the trade price (the limit price for a
limit, stop-limit or limit-on-close order, else the last close), in the security's currency. Everything is translated to the
account's base currency at the as-of date's FX rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from engine.compliance.book import Book
from engine.errors import ImportValidationError, Problem
from engine.oms.drafts import HAS_LIMIT, ORDER_TYPES
from engine.ports import OrderIntent

SIDES = {"buy": 1.0, "sell": -1.0}


@dataclass(frozen=True, slots=True)
class FxLeg:
    """A cash movement that comes with the orders (a proposal's FX funding trade): signed amount."""

    account: str
    currency: str
    amount: float


def fx_legs_from_trades(account: str, fx_trades: Sequence[dict[str, object]]) -> list[FxLeg]:
    """The two cash legs of each FX trade of a rebalance proposal (buy `amount` of currency
    against the base currency at `rate` base units per unit)."""
    legs = []
    for t in fx_trades:
        amount = float(t["amount"])  # type: ignore[arg-type]
        base_amount = float(t.get("base_amount") or amount * float(t["rate"]))  # type: ignore[arg-type]
        sign = 1.0 if t["side"] == "buy" else -1.0
        legs.append(FxLeg(account, str(t["currency"]), sign * amount))
        legs.append(FxLeg(account, str(t["against"]), -sign * base_amount))
    return legs


@dataclass
class Orders:
    """Validated orders as parallel arrays (index i = the i-th order given)."""

    intents: list[OrderIntent]
    a: np.ndarray
    s: np.ndarray
    sign: np.ndarray
    qty: np.ndarray
    limit: np.ndarray

    def __len__(self) -> int:
        return len(self.intents)


def _positive(value: object) -> float:
    """A finite positive number as float, else NaN."""
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return float("nan")
    return float(d) if d.is_finite() and d > 0 else float("nan")


def prepare_orders(
    book: Book,
    intents: Sequence[OrderIntent],
    source: str = "orders",
    first_row: int = 1,
    rows: Sequence[int] | None = None,
) -> Orders:
    """Check every order's fields; any problem raises ImportValidationError naming its row."""
    n = len(intents)
    accounts = pd.Series([o.account for o in intents], dtype=object)
    symbols = pd.Series([o.symbol for o in intents], dtype=object)
    sides = pd.Series([str(o.side).lower() for o in intents], dtype=object)
    otypes = pd.Series([str(o.order_type).lower() for o in intents], dtype=object)
    a = accounts.map(book.acct_index)
    s = symbols.map(book.sec_index)
    sign = sides.map(SIDES)
    qty = np.fromiter((_positive(o.quantity) for o in intents), dtype=float, count=n)
    has_limit = np.fromiter((o.limit_price is not None for o in intents), dtype=bool, count=n)
    limit = np.full(n, np.nan)
    if has_limit.any():
        idx = np.flatnonzero(has_limit)
        limit[idx] = [_positive(intents[int(i)].limit_price) for i in idx]
    price = book.sec["price"].to_numpy(dtype=float)
    unpriced = s.notna().to_numpy() & ~np.isfinite(price[s.fillna(0).to_numpy(dtype=np.int64)])
    bad = {
        "account": a.isna().to_numpy(),
        "symbol": s.isna().to_numpy() | unpriced,
        "side": sign.isna().to_numpy(),
        "quantity": np.isnan(qty),
        "order_type": ~otypes.isin(ORDER_TYPES).to_numpy(),
        "limit_price": (has_limit & np.isnan(limit)) | (~has_limit & otypes.isin(HAS_LIMIT).to_numpy()),
    }
    if any(m.any() for m in bad.values()):
        problems: list[Problem] = []
        for col, mask in bad.items():
            for i in np.flatnonzero(mask)[:1000]:
                o = intents[int(i)]
                row = rows[int(i)] if rows is not None else first_row + int(i)
                reason = {
                    "account": f"unknown account {o.account!r}",
                    "symbol": f"{o.symbol} has no price on or before {book.as_of}"
                    if col == "symbol" and unpriced[i]
                    else f"unknown symbol {o.symbol!r}",
                    "side": f"side must be buy or sell, not {o.side!r}",
                    "quantity": f"quantity must be a positive number, not {o.quantity!r}",
                    "order_type": f"order_type must be one of {', '.join(ORDER_TYPES)}, not {o.order_type!r}",
                    "limit_price": f"limit_price must be a positive number, not {o.limit_price!r}"
                    if o.limit_price is not None
                    else f"a {o.order_type} order needs a limit_price",
                }[col]
                problems.append(Problem(row, col, reason))
        raise ImportValidationError(source, problems)
    return Orders(
        list(intents),
        a.to_numpy(dtype=np.int64),
        s.to_numpy(dtype=np.int64),
        sign.to_numpy(dtype=float),
        qty,
        limit,
    )


DENSE_LIMIT = 30_000_000


def _dense_or_sorted(keys: np.ndarray, values: np.ndarray, query: np.ndarray, size: int) -> np.ndarray:
    """Sum per key looked up at `query`: a dense bincount when the key space is small enough."""
    if 0 < size <= DENSE_LIMIT:
        return np.bincount(keys, weights=values, minlength=size)[query] if len(keys) else np.zeros(len(query))
    return _group_sum(keys, values, query)


def _group_sum(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Sum of `values` per key, looked up for each key in `query` (0 where absent)."""
    if len(keys) == 0:
        return np.zeros(len(query))
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=values, minlength=len(uniq))
    pos = np.searchsorted(uniq, query)
    pos = np.clip(pos, 0, len(uniq) - 1)
    return np.where(uniq[pos] == query, sums[pos], 0.0)


def _batch_dependent(fn: Callable[[Context], np.ndarray]) -> property:
    """A cached value that depends on which orders count: reading it marks the rule as depending
    on the batch, so the checker evaluates it again when the counted orders change."""
    key = f"_batch_{fn.__name__}"

    def get(self: Context) -> np.ndarray:
        self.batch_read = True
        if key not in self.__dict__:
            self.__dict__[key] = fn(self)
        value: np.ndarray = self.__dict__[key]
        return value

    return property(get, doc=fn.__doc__)


class Context:
    """Everything a rule needs about a batch: the book, the orders and the projection."""

    def __init__(
        self,
        session: Session | None,
        book: Book,
        orders: Orders,
        now: datetime,
        fx_legs: Sequence[FxLeg] = (),
        counted: np.ndarray | None = None,
    ) -> None:
        self.session = session
        self.book = book
        self.o = orders
        self.now = now
        self.n = len(orders)
        self._counted = np.ones(self.n, dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
        self._w = self._counted.astype(float)  # weight of each order in what the others see
        self._own = 1.0 - self._w  # an order not counted still sees itself
        self.batch_read = False  # set when a rule reads anything that depends on `counted`
        cidx = {c: i for i, c in enumerate(book.currencies)}
        legs = [g for g in fx_legs if g.account in book.acct_index and g.currency in cidx]
        self.fx_a = np.array([book.acct_index[g.account] for g in legs], dtype=np.int64)
        self.fx_c = np.array([cidx[g.currency] for g in legs], dtype=np.int64)
        self.fx_amt = np.array([g.amount for g in legs], dtype=float)

    @property
    def counted(self) -> np.ndarray:
        """Which orders the others see (a rule reading it depends on the batch)."""
        self.batch_read = True
        return self._counted

    @property
    def w(self) -> np.ndarray:
        """1.0 for an order the others see, 0.0 for one they do not."""
        self.batch_read = True
        return self._w

    @property
    def own(self) -> np.ndarray:
        """1.0 for an order the others do not see: its own trade is added to its own view."""
        self.batch_read = True
        return self._own

    @cached_property
    def acct_codes(self) -> np.ndarray:
        return self.book.acct["code"].to_numpy(dtype=object)

    @cached_property
    def symbols(self) -> np.ndarray:
        return self.book.sec["symbol"].to_numpy(dtype=object)

    # --- per-order market data -------------------------------------------------------------
    @cached_property
    def sec_c(self) -> np.ndarray:
        cidx = {c: i for i, c in enumerate(self.book.currencies)}
        return self.book.sec["currency"].map(cidx).to_numpy(dtype=np.int64)

    @cached_property
    def acct_c(self) -> np.ndarray:
        cidx = {c: i for i, c in enumerate(self.book.currencies)}
        return self.book.acct["base_currency"].map(cidx).to_numpy(dtype=np.int64)

    @cached_property
    def price(self) -> np.ndarray:
        return self.book.sec["price"].to_numpy(dtype=float)

    @cached_property
    def mult(self) -> np.ndarray:
        return self.book.sec["mult"].to_numpy(dtype=float)

    @cached_property
    def px_last(self) -> np.ndarray:
        return self.price[self.o.s]

    @cached_property
    def px_trade(self) -> np.ndarray:
        return np.where(np.isnan(self.o.limit), self.px_last, self.o.limit)

    @cached_property
    def o_ccy(self) -> np.ndarray:
        """Currency index of each order (the security's currency)."""
        return self.sec_c[self.o.s]

    @cached_property
    def o_base(self) -> np.ndarray:
        return self.acct_c[self.o.a]

    @cached_property
    def fx_base(self) -> np.ndarray:
        return self.book.fx[self.o_ccy, self.o_base]

    def fx_to(self, ccy: str) -> np.ndarray:
        return self.book.fx[self.o_ccy, self.book.ccy(ccy)]

    @cached_property
    def notional_local(self) -> np.ndarray:
        return self.o.qty * self.px_trade * self.mult[self.o.s]

    def notional_in(self, ccy: str) -> np.ndarray:
        return self.notional_local * self.fx_to(ccy)

    # --- projection ------------------------------------------------------------------------
    @cached_property
    def pos_mv_base(self) -> np.ndarray:
        b = self.book
        return (
            b.pos_q
            * self.price[b.pos_s]
            * self.mult[b.pos_s]
            * b.fx[self.sec_c[b.pos_s], self.acct_c[b.pos_a]]
        )

    @cached_property
    def cash_base(self) -> np.ndarray:
        b = self.book
        return b.cash_amt * b.fx[b.cash_c, self.acct_c[b.cash_a]]

    @cached_property
    def d_mv_base(self) -> np.ndarray:
        """Change in holdings value (at the last close) per order, in base currency."""
        return self.o.sign * self.o.qty * self.px_last * self.mult[self.o.s] * self.fx_base

    @cached_property
    def d_cash_local(self) -> np.ndarray:
        """Change in cash per order, in the security's currency."""
        return -self.o.sign * self.notional_local

    @cached_property
    def total_pre(self) -> np.ndarray:
        """Account value (holdings + cash) in base currency, per account index."""
        na = self.book.n_accounts
        return np.bincount(self.book.pos_a, self.pos_mv_base, minlength=na) + np.bincount(
            self.book.cash_a, self.cash_base, minlength=na
        )

    @cached_property
    def d_value_base(self) -> np.ndarray:
        """Change in account value per order (holdings at the last close, cash at the trade price)."""
        return self.d_mv_base + self.d_cash_local * self.fx_base

    @_batch_dependent
    def total_post(self) -> np.ndarray:
        """Account value after the counted orders, per account index."""
        na = self.book.n_accounts
        return (
            self.total_pre
            + np.bincount(self.o.a, self.d_value_base * self.w, minlength=na)
            + self.fx_legs_base
        )

    @_batch_dependent
    def total_after(self) -> np.ndarray:
        """Per order: its account's value after the counted orders and itself."""
        return self.total_post[self.o.a] + self.own * self.d_value_base

    @cached_property
    def fx_legs_base(self) -> np.ndarray:
        """The FX legs' net value per account in base currency (about zero: a conversion)."""
        vals = (
            self.fx_amt * self.book.fx[self.fx_c, self.acct_c[self.fx_a]] if len(self.fx_a) else self.fx_amt
        )
        return np.bincount(self.fx_a, vals, minlength=self.book.n_accounts)

    @cached_property
    def qty_pre(self) -> np.ndarray:
        ns = self.book.n_securities
        size = self.book.n_accounts * ns
        return _dense_or_sorted(
            self.book.pos_a * ns + self.book.pos_s, self.book.pos_q, self.o.a * ns + self.o.s, size
        )

    @_batch_dependent
    def qty_post(self) -> np.ndarray:
        ns = self.book.n_securities
        keys = self.o.a * ns + self.o.s
        d = self.o.sign * self.o.qty
        return (
            self.qty_pre + _dense_or_sorted(keys, d * self.w, keys, self.book.n_accounts * ns) + self.own * d
        )

    @cached_property
    def cash_pre(self) -> np.ndarray:
        """Cash in each order's currency before the batch (security's currency)."""
        nc = len(self.book.currencies)
        return _group_sum(
            self.book.cash_a * nc + self.book.cash_c, self.book.cash_amt, self.o.a * nc + self.o_ccy
        )

    @_batch_dependent
    def cash_post(self) -> np.ndarray:
        nc = len(self.book.currencies)
        keys = self.o.a * nc + self.o_ccy
        size = self.book.n_accounts * nc
        legs = (
            _dense_or_sorted(self.fx_a * nc + self.fx_c, self.fx_amt, keys, size) if len(self.fx_a) else 0.0
        )
        d = self.d_cash_local
        return self.cash_pre + _dense_or_sorted(keys, d * self.w, keys, size) + self.own * d + legs

    @cached_property
    def cash_total_pre(self) -> np.ndarray:
        return np.bincount(self.book.cash_a, self.cash_base, minlength=self.book.n_accounts)

    @_batch_dependent
    def cash_total_post(self) -> np.ndarray:
        """Cash in base currency after the counted orders, per account index."""
        d = self.d_cash_local * self.fx_base
        return (
            self.cash_total_pre
            + np.bincount(self.o.a, d * self.w, minlength=self.book.n_accounts)
            + self.fx_legs_base
        )

    @_batch_dependent
    def cash_total_after(self) -> np.ndarray:
        """Per order: its account's cash in base after the counted orders and itself."""
        return self.cash_total_post[self.o.a] + self.own * self.d_cash_local * self.fx_base

    def group_codes(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """Per security, an integer code of its issuer / sector / country / currency / itself."""
        if kind == "security":
            return np.arange(self.book.n_securities), list(self.book.sec["symbol"])
        if kind == "currency":
            return self.sec_c, list(self.book.currencies)
        codes, names = self.book.sec[kind].factorize()
        return np.asarray(codes, dtype=np.int64), [str(x) for x in names]

    def exposure(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Per order: its group's value in base before and after the batch, and the group code.

        For currency_cash, cash in that currency counts too (and a trade's cash leg offsets it).
        """
        self.batch_read = True
        cache = self.__dict__.setdefault("_exposure", {})
        if kind in cache:
            return cache[kind]
        g, names = self.group_codes("currency" if kind == "currency_cash" else kind)
        ng = max(len(names), 1)
        b = self.book
        involved = np.zeros(b.n_accounts, dtype=bool)
        involved[self.o.a] = True
        keep = involved[b.pos_a]
        keys = [b.pos_a[keep] * ng + g[b.pos_s[keep]]]
        vals = [self.pos_mv_base[keep]]
        d_keys = [self.o.a * ng + g[self.o.s]]
        d_vals = [self.d_mv_base * self.w]
        own = self.d_mv_base  # an order's own trade lands in its own group (cash: its currency)
        if kind == "currency_cash":
            ckeep = involved[b.cash_a]
            keys.append(b.cash_a[ckeep] * ng + b.cash_c[ckeep])
            vals.append(self.cash_base[ckeep])
            d_keys.append(self.o.a * ng + self.o_ccy)
            d_vals.append(self.d_cash_local * self.fx_base * self.w)
            own = own + self.d_cash_local * self.fx_base
            if len(self.fx_a):
                d_keys.append(self.fx_a * ng + self.fx_c)
                d_vals.append(self.fx_amt * b.fx[self.fx_c, self.acct_c[self.fx_a]])
        og = g[self.o.s]
        q = self.o.a * ng + og
        size = b.n_accounts * ng
        pre = _dense_or_sorted(np.concatenate(keys), np.concatenate(vals), q, size)
        post = (
            pre + _dense_or_sorted(np.concatenate(d_keys), np.concatenate(d_vals), q, size) + self.own * own
        )
        cache[kind] = (pre, post, og, names)
        return cache[kind]
