"""Allocation and booking: a finished order's fills go to its accounts (a block's children, or
the order's own account) at the average price and are booked through accounting, once per order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from engine.accounting.fxspot import book_fx_fill
from engine.accounting.settlement import fx_settle_date
from engine.errors import NotFound
from engine.model.enums import Side
from engine.model.trades import LotPick, TradeFill
from engine.oms.allocation import Want, pick_lots, pro_rata
from engine.oms.blocks import Blocks
from engine.oms.context import OmsContext, Tx
from engine.oms.events import OrderAlert
from engine.oms.fx import FX_ASSET_CLASS, fx_pair
from engine.oms.messages import ExecReport
from engine.oms.post_trade import PostTrade
from engine.oms.status import OrderStatus
from engine.oms.tables import Allocation, Order
from engine.store.accounts import Account
from engine.store.reference import Security, SettlementCycle

log = logging.getLogger("engine.oms.service")
S = OrderStatus


@dataclass(frozen=True)
class _Child:
    id: int
    cl_ord_id: str
    quantity: Decimal
    account_id: int | None
    side: str
    lot_instructions: Any


@dataclass(frozen=True)
class LoneFill:
    """A lone account order a wave filled (engine.oms.wave_fills): its columns and its last report."""

    order: Mapping[str, Any]
    report: ExecReport


class Booking:
    """Allocates finished orders to accounts and books them (accounting refusals wait, alerted)."""

    def __init__(self, ctx: OmsContext, blocks: Blocks, post_trade: PostTrade) -> None:
        self.ctx = ctx
        self.blocks = blocks
        self.post_trade = post_trade

    def allocate(self, tx: Tx, o: Order, r: ExecReport) -> None:
        """Give a finished order's fills to its accounts (a block's children, or the order's own
        account) at the average price, and book each through accounting. Runs once per order.

        An FX spot order (asset class fx_spot, EURUSD) settles on the pair's spot date (both
        currencies' calendars) and books two cash legs (engine.accounting.fxspot), never lots."""
        s = tx.session
        if s.scalar(select(Allocation.id).where(Allocation.block_id == o.id).limit(1)) is not None:
            return
        sec = self.ctx.symbol(s, o)
        fx = fx_pair(sec.symbol) if sec.asset_class == FX_ASSET_CLASS else None
        s.flush()
        t = Order.__table__
        children: Sequence[Any]
        if o.account_id is None:
            children = s.execute(
                select(t.c.id, t.c.cl_ord_id, t.c.quantity, t.c.account_id, t.c.side, t.c.lot_instructions)
                .where(t.c.parent_id == o.id)
                .order_by(t.c.id)
            ).all()
            lot = Decimal(sec.lot_size or 1)
            shares = pro_rata(o.cum_qty, [Want(c.cl_ord_id, c.quantity) for c in children], lot, o.cl_ord_id)
        else:
            children = [_Child(o.id, o.cl_ord_id, o.quantity, o.account_id, o.side, o.lot_instructions)]
            shares = {o.cl_ord_id: o.cum_qty}
        when = r.transact_time or self.ctx.clock.now()
        trade_date = self._session_date(sec.mic, when)
        settle_date = (
            self._fx_settle_date(fx, trade_date) if fx else self._settle_date(s, sec.mic, trade_date)
        )
        ids = {c.account_id for c in children}
        codes = dict(s.execute(select(Account.id, Account.code).where(Account.id.in_(ids))).all())
        now = self.ctx.clock.now()
        allocs = []
        for c in children:
            qty = shares[c.cl_ord_id]
            if qty <= 0 or c.account_id is None:
                continue
            allocs.append(
                {
                    "block_id": o.id,
                    "child_id": c.id,
                    "account_id": c.account_id,
                    "quantity": qty,
                    "avg_px": o.avg_px,
                    "trade_date": trade_date,
                    "settle_date": settle_date,
                    "source_ref": f"{o.cl_ord_id}/{c.cl_ord_id}",
                    "booked_at": None,
                    "created_at": now,
                    "_child": c,
                }
            )
        if allocs:
            self._book_all(tx, allocs, sec.symbol, codes, o.avg_px, trade_date, settle_date, now, fx)
        for a in allocs:
            del a["_child"]
        if allocs:
            s.execute(insert(cast(Table, Allocation.__table__)), allocs)
            self.post_trade.instruct(tx, o, allocs)  # the block's AllocationInstruction (35=J)
        o.trade_date = trade_date
        if o.account_id is None:
            per_child = {
                c.id: {
                    "cum_qty": shares[c.cl_ord_id],
                    "avg_px": o.avg_px if shares[c.cl_ord_id] > 0 else Decimal(0),
                    "leaves_qty": Decimal(0),
                    "trade_date": trade_date,
                    "status": str(S.FILLED if shares[c.cl_ord_id] == c.quantity else S(o.status)),
                }
                for c in children
            }
            self.blocks.set_children(tx, o, {}, "allocated", {"block": o.cl_ord_id}, per_child)

    def allocate_lone(self, tx: Tx, fills: Sequence[LoneFill]) -> dict[int, date]:
        """`allocate` for the lone account orders one wave finished: one read each of what is
        allocated already, their securities and their accounts, every booking in one savepoint
        (one by one when accounting refuses any, so only the refused ones wait, alerted), one
        INSERT of the allocations. The same fills are booked in the same order as one `allocate`
        per order would book them. Returns each allocated order's trade date."""
        s = tx.session
        done = set(
            s.scalars(
                select(Allocation.block_id).where(Allocation.block_id.in_([f.order["id"] for f in fills]))
            )
        )
        todo = [f for f in fills if f.order["id"] not in done]
        if not todo:
            return {}
        secs = {
            x.id: x
            for x in s.scalars(
                select(Security).where(Security.id.in_({f.order["security_id"] for f in todo}))
            )
        }
        codes = dict(
            s.execute(
                select(Account.id, Account.code).where(Account.id.in_({f.order["account_id"] for f in todo}))
            ).all()
        )
        now = self.ctx.clock.now()
        dates: dict[int, date] = {}
        settles: dict[tuple[str, date], date | None] = {}
        items: list[tuple[dict[str, Any], str, Decimal, tuple[str, str] | None]] = []
        for f in todo:
            o = f.order
            sec = secs[o["security_id"]]
            fx = fx_pair(sec.symbol) if sec.asset_class == FX_ASSET_CLASS else None
            trade_date = self._session_date(sec.mic, f.report.transact_time or now)
            key = (sec.symbol if fx else sec.mic, trade_date)
            if key not in settles:  # one settlement cycle read per market and day in the wave
                settles[key] = (
                    self._fx_settle_date(fx, trade_date) if fx else self._settle_date(s, sec.mic, trade_date)
                )
            settle_date = settles[key]
            dates[o["id"]] = trade_date
            qty = Decimal(o["cum_qty"])
            if qty <= 0:
                continue
            child = _Child(
                o["id"], o["cl_ord_id"], o["quantity"], o["account_id"], o["side"], o["lot_instructions"]
            )
            a = {
                "block_id": o["id"], "child_id": o["id"], "account_id": o["account_id"], "quantity": qty,
                "avg_px": o["avg_px"], "trade_date": trade_date, "settle_date": settle_date,
                "source_ref": f"{o['cl_ord_id']}/{o['cl_ord_id']}", "booked_at": None, "created_at": now,
            }  # fmt: skip
            items.append((a | {"_child": child}, sec.symbol, Decimal(o["avg_px"]), fx))
        self._book_wave(tx, items, codes, now)
        if items:
            rows = [{k: v for k, v in a.items() if k != "_child"} for a, *_ in items]
            s.execute(insert(cast(Table, Allocation.__table__)), rows)
        return dates

    def _book_wave(
        self,
        tx: Tx,
        items: list[tuple[dict[str, Any], str, Decimal, tuple[str, str] | None]],
        codes: dict[int, str],
        now: datetime,
    ) -> None:
        """`_book_all` over several orders' allocations (each with its own terms)."""

        def fill(a: dict[str, Any], symbol: str, price: Decimal) -> TradeFill:
            c = a["_child"]
            return self._fill_of(c, symbol, codes[c.account_id], a["quantity"], price, a["trade_date"],
                                 a["settle_date"], a["source_ref"])  # fmt: skip

        try:
            with tx.session.begin_nested():
                for a, symbol, price, fx in items:
                    self._post(tx.session, fill(a, symbol, price), fx)
        except Exception:
            for a, symbol, price, fx in items:
                c = a["_child"]
                if self._book(tx, c, symbol, codes[c.account_id], a["quantity"], price, a["trade_date"],
                              a["settle_date"], a["source_ref"], fx):  # fmt: skip
                    a["booked_at"] = now
            return
        for a, *_ in items:
            a["booked_at"] = now

    def _book_all(
        self,
        tx: Tx,
        allocs: list[dict[str, Any]],
        symbol: str,
        codes: dict[int, str],
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        now: datetime,
        fx: tuple[str, str] | None = None,
    ) -> None:
        """Book every allocation in one savepoint; if accounting refuses any, book them one by one
        so that only the refused ones wait unbooked (each with an alert)."""
        args = [
            (a, a["_child"], codes[a["_child"].account_id], a["quantity"], a["source_ref"]) for a in allocs
        ]
        try:
            with tx.session.begin_nested():
                for _, c, account, qty, ref in args:
                    fill = self._fill_of(c, symbol, account, qty, price, trade_date, settle_date, ref)
                    self._post(tx.session, fill, fx)
        except Exception:
            for a, c, account, qty, ref in args:
                if self._book(tx, c, symbol, account, qty, price, trade_date, settle_date, ref, fx):
                    a["booked_at"] = now
            return
        for a in allocs:
            a["booked_at"] = now

    @staticmethod
    def _fill_of(
        c: Any,
        symbol: str,
        account: str,
        qty: Decimal,
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        ref: str,
    ) -> TradeFill:
        picks = (
            tuple(LotPick(r, q) for r, q in pick_lots(c.lot_instructions, qty)) if c.side == "sell" else ()
        )
        return TradeFill(
            account=account,
            symbol=symbol,
            side=Side(c.side),
            quantity=qty,
            price=price,
            trade_date=trade_date,
            source_ref=ref,
            settle_date=settle_date,
            lots=picks,
        )

    def _book(
        self,
        tx: Tx,
        c: Any,
        symbol: str,
        account: str,
        qty: Decimal,
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        ref: str,
        fx: tuple[str, str] | None = None,
    ) -> bool:
        """Book one allocation through accounting in a savepoint: if accounting refuses, the fill
        stays recorded and the allocation waits unbooked (booked_at empty), with an alert."""
        fill = self._fill_of(c, symbol, account, qty, price, trade_date, settle_date, ref)
        try:
            with tx.session.begin_nested():
                self._post(tx.session, fill, fx)
        except Exception as exc:
            self.ctx.alerts += 1
            message = f"allocation {ref} not booked: {exc}"
            log.warning("order %s: %s", c.cl_ord_id, message)
            tx.events.append(OrderAlert(order_id=c.id, cl_ord_id=c.cl_ord_id, message=message))
            return False
        return True

    def _post(self, session: Session, fill: TradeFill, fx: tuple[str, str] | None) -> None:
        """One allocation into accounting: lots and cash through the booker, or FX spot cash legs."""
        if fx is None:
            self.ctx.booker.book(session, fill)
        else:
            book_fx_fill(session, fill, *fx)

    def _fx_settle_date(self, pair: tuple[str, str], trade_date: date) -> date | None:
        """The pair's spot value date, or None (accounting then refuses it and the allocation waits)."""
        try:
            return fx_settle_date(pair[0], pair[1], trade_date)
        except NotFound:
            return None

    def _session_date(self, mic: str, when: datetime) -> date:
        key = (mic, when.replace(second=0, microsecond=0))
        if key not in self.ctx.dates:
            self.ctx.dates[key] = self.ctx.markets.session_date(mic, when)
        return self.ctx.dates[key]

    def _settle_date(self, s: Session, mic: str, trade_date: date) -> date | None:
        cycle = s.scalars(
            select(SettlementCycle)
            .where(SettlementCycle.mic == mic, SettlementCycle.effective_from <= trade_date)
            .order_by(SettlementCycle.effective_from.desc())
        ).first()
        if cycle is None:
            return None
        key = (mic, trade_date, cycle.days)
        if key not in self.ctx.settles:
            self.ctx.settles[key] = self.ctx.markets.add_sessions(mic, trade_date, cycle.days)
        return self.ctx.settles[key]
