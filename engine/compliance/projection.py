"""Orders as arrays, and the projected post-trade portfolio they imply (all orders of a batch
for one account count together, as a proposal's trades do).

Holdings are valued at the last close; cash moves at the trade price (the limit price for a
limit order, else the last close), in the security's currency. Everything is translated to the
account's base currency at the as-of date's FX rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property

import numpy as np
from sqlalchemy.orm import Session

from engine.compliance.book import Book
from engine.errors import ImportValidationError, Problem
from engine.ports import OrderIntent

ORDER_TYPES = ("market", "limit")
SIDES = {"buy": 1.0, "sell": -1.0}


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


def prepare_orders(
    book: Book, intents: Sequence[OrderIntent], source: str = "orders", first_row: int = 1
) -> Orders:
    """Check every order's fields; any problem raises ImportValidationError naming its row."""
    problems: list[Problem] = []
    n = len(intents)
    a = np.zeros(n, dtype=np.int64)
    s = np.zeros(n, dtype=np.int64)
    sign = np.zeros(n)
    qty = np.zeros(n)
    limit = np.full(n, np.nan)
    for i, o in enumerate(intents):
        row = first_row + i
        ai = book.acct_index.get(o.account)
        if ai is None:
            problems.append(Problem(row, "account", f"unknown account {o.account!r}"))
        else:
            a[i] = ai
        si = book.sec_index.get(o.symbol)
        if si is None:
            problems.append(Problem(row, "symbol", f"unknown symbol {o.symbol!r}"))
        else:
            s[i] = si
            if not np.isfinite(book.sec["price"].iat[si]):
                problems.append(Problem(row, "symbol", f"{o.symbol} has no price on or before {book.as_of}"))
        side = str(o.side).lower()
        if side not in SIDES:
            problems.append(Problem(row, "side", f"side must be buy or sell, not {o.side!r}"))
        else:
            sign[i] = SIDES[side]
        try:
            q = Decimal(o.quantity)
            if not q.is_finite() or q <= 0:
                raise InvalidOperation
            qty[i] = float(q)
        except (InvalidOperation, TypeError, ValueError):
            problems.append(
                Problem(row, "quantity", f"quantity must be a positive number, not {o.quantity!r}")
            )
        otype = str(o.order_type).lower()
        if otype not in ORDER_TYPES:
            problems.append(
                Problem(row, "order_type", f"order_type must be market or limit, not {o.order_type!r}")
            )
        if o.limit_price is not None:
            try:
                lp = Decimal(o.limit_price)
                if not lp.is_finite() or lp <= 0:
                    raise InvalidOperation
                limit[i] = float(lp)
            except (InvalidOperation, TypeError, ValueError):
                problems.append(
                    Problem(row, "limit_price", f"limit_price must be positive, not {o.limit_price!r}")
                )
        elif otype == "limit":
            problems.append(Problem(row, "limit_price", "a limit order needs a limit_price"))
    if problems:
        raise ImportValidationError(source, problems)
    return Orders(list(intents), a, s, sign, qty, limit)


def _group_sum(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Sum of `values` per key, looked up for each key in `query` (0 where absent)."""
    if len(keys) == 0:
        return np.zeros(len(query))
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=values, minlength=len(uniq))
    pos = np.searchsorted(uniq, query)
    pos = np.clip(pos, 0, len(uniq) - 1)
    return np.where(uniq[pos] == query, sums[pos], 0.0)


class Context:
    """Everything a rule needs about a batch: the book, the orders and the projection."""

    def __init__(self, session: Session | None, book: Book, orders: Orders, now: datetime) -> None:
        self.session = session
        self.book = book
        self.o = orders
        self.now = now
        self.n = len(orders)

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
    def total_post(self) -> np.ndarray:
        na = self.book.n_accounts
        return self.total_pre + np.bincount(
            self.o.a, self.d_mv_base + self.d_cash_local * self.fx_base, minlength=na
        )

    @cached_property
    def qty_pre(self) -> np.ndarray:
        ns = self.book.n_securities
        return _group_sum(self.book.pos_a * ns + self.book.pos_s, self.book.pos_q, self.o.a * ns + self.o.s)

    @cached_property
    def qty_post(self) -> np.ndarray:
        ns = self.book.n_securities
        keys = self.o.a * ns + self.o.s
        return self.qty_pre + _group_sum(keys, self.o.sign * self.o.qty, keys)

    @cached_property
    def cash_pre(self) -> np.ndarray:
        """Cash in each order's currency before the batch (security's currency)."""
        nc = len(self.book.currencies)
        return _group_sum(
            self.book.cash_a * nc + self.book.cash_c, self.book.cash_amt, self.o.a * nc + self.o_ccy
        )

    @cached_property
    def cash_post(self) -> np.ndarray:
        nc = len(self.book.currencies)
        keys = self.o.a * nc + self.o_ccy
        return self.cash_pre + _group_sum(keys, self.d_cash_local, keys)

    @cached_property
    def cash_total_pre(self) -> np.ndarray:
        return np.bincount(self.book.cash_a, self.cash_base, minlength=self.book.n_accounts)

    @cached_property
    def cash_total_post(self) -> np.ndarray:
        return self.cash_total_pre + np.bincount(
            self.o.a, self.d_cash_local * self.fx_base, minlength=self.book.n_accounts
        )

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

        For currency, cash in that currency counts too (and a trade's cash leg offsets it).
        """
        cache = self.__dict__.setdefault("_exposure", {})
        if kind in cache:
            return cache[kind]
        g, names = self.group_codes(kind)
        ng = max(len(names), 1)
        b = self.book
        involved = np.zeros(b.n_accounts, dtype=bool)
        involved[self.o.a] = True
        keep = involved[b.pos_a]
        keys = [b.pos_a[keep] * ng + g[b.pos_s[keep]]]
        vals = [self.pos_mv_base[keep]]
        d_keys = [self.o.a * ng + g[self.o.s]]
        d_vals = [self.d_mv_base]
        if kind == "currency":
            ckeep = involved[b.cash_a]
            keys.append(b.cash_a[ckeep] * ng + b.cash_c[ckeep])
            vals.append(self.cash_base[ckeep])
            d_keys.append(self.o.a * ng + self.o_ccy)
            d_vals.append(self.d_cash_local * self.fx_base)
        og = g[self.o.s]
        q = self.o.a * ng + og
        pre = _group_sum(np.concatenate(keys), np.concatenate(vals), q)
        post = pre + _group_sum(np.concatenate(d_keys), np.concatenate(d_vals), q)
        cache[kind] = (pre, post, og, names)
        return cache[kind]
