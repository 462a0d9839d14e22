"""Book many trade fills set-wise: the rows `LedgerBooker` writes, in the same order, in bulk.

`LedgerBooker.book` costs about 9 CPU ms a fill: it looks the account, the security and the
reference up, flushes the booking, reads the lots, posts the cash and runs the wash-sale matcher,
each a round trip. `BulkTradeBooker.book_all` reads all of that once for a list of fills, computes
each fill in memory with the same functions and the same Decimal arithmetic (lot relief by the
account's method, realized gains with the FX split and term, cash rounded to the minor unit) and
writes bookings, lots, gains and cash movements with one executemany each.

A fill whose booking could differ from the single-fill path goes through `LedgerBooker` itself,
at its place in the order (what was computed before it is written first, so ids, lot references
and balances come out exactly as if every fill had been booked one by one):

- a reference already booked (idempotency, "different terms") or twice in the list; a missing
  account or security; bad numbers; lot picks; a sale the lots cannot cover (the booker's error);
- a fill where a wash sale may match (engine.accounting.washsale): the household has a US taxable
  account and, for the same group of substantially identical securities, the list holds a sale by
  such an account and a buy, or the store holds a buy (for a sale) or an unmatched loss (for a buy)
  within 30 days. A loss sold with no possible replacement only gets `wash_unmatched_qty`, as
  `match_sale` leaves it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.accounting.booking import UNIT, LedgerBooker
from engine.accounting.errors import BookingError
from engine.accounting.holding import term
from engine.accounting.relief import OpenLot, ReliefError, choose_lots
from engine.accounting.rules import long_after_months
from engine.accounting.settlement import security_settle_date
from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.activity.trades_prep import Acct, Sec, chunked, load_accounts, load_securities, single_path
from engine.errors import NotFound
from engine.model.currency import round_money
from engine.model.enums import LotRelief, Side
from engine.model.trades import TradeFill
from engine.pricing.fx import FxTable
from engine.store.bulk import table_of
from engine.store.positions import CashBalance, TaxLot

CHUNK = 500
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Booked:
    """What one fill booked (what the activity loader reports per line)."""

    booking_id: int
    cash_amount: Decimal
    settle_date: date
    lot_opened: str | None = None
    realized: tuple[tuple[str, Decimal, Decimal, str], ...] = ()  # lot_ref, quantity, gain_base, term


@dataclass
class _Lot:
    id: int
    ref: str
    quantity: Decimal
    unit_cost: Decimal
    acquired: date
    fx_rate: Decimal


@dataclass
class _Plan:
    at: int
    booking: dict[str, Any]
    buy: dict[str, Any] | None = None
    gains: list[dict[str, Any]] = field(default_factory=list)
    move: dict[str, Any] = field(default_factory=dict)


class BulkTradeBooker:
    """Books a list of fills in the caller's transaction (see the module docstring)."""

    def __init__(
        self, session: Session, booker: LedgerBooker | None = None, fx: FxTable | None = None
    ) -> None:
        """`booker`: the single-fill booker (one given with an FX table books with it); `fx`: the
        rates around the fills' trade dates (as LedgerBooker(fx) takes them), else read per date."""
        self.session = session
        self.booker = booker or LedgerBooker(fx)
        self._given_fx = fx
        self._fx: dict[date, FxTable] = {}
        self._rates: dict[tuple[str, str, date], Decimal] = {}
        self._settle: dict[tuple[str, date], date] = {}
        self._months: dict[str, int | None] = {}
        self._pending: list[_Plan] = []
        self._lots: dict[tuple[int, int], list[_Lot]] = {}
        self._lot_updates: dict[int, Decimal] = {}
        self._lot_deletes: set[int] = set()
        self._pending_buys: set[tuple[int, int]] = set()
        self._out: list[Booked | None] = []

    # ---- reference data, read once -------------------------------------------------------

    def _fx_rate(self, from_ccy: str, to_ccy: str, on: date) -> Decimal:
        if from_ccy == to_ccy:
            return Decimal(1)
        key = (from_ccy, to_ccy, on)
        rate = self._rates.get(key)
        if rate is None and self._given_fx is not None:
            rate = self._rates[key] = self._given_fx.rate(from_ccy, to_ccy, on)
        elif rate is None:
            table = self._fx.get(on)
            if table is None:
                table = self._fx[on] = FxTable.load(self.session, start=on, end=on + timedelta(days=1))
            rate = self._rates[key] = table.rate(from_ccy, to_ccy, on)
        return rate

    def _settle_date(self, mic: str, on: date) -> date:
        key = (mic, on)
        if key not in self._settle:
            self._settle[key] = security_settle_date(self.session, mic, on)
        return self._settle[key]

    def _long_after(self, jurisdiction: str) -> int | None:
        if jurisdiction not in self._months:
            self._months[jurisdiction] = long_after_months(self.session, jurisdiction)
        return self._months[jurisdiction]

    # ---- which fills go through LedgerBooker --------------------------------------------

    def _load_lots(self, pairs: set[tuple[int, int]]) -> None:
        """The open lots of every (account, security) pair, in id order within a pair. Found by
        account (`security_id + 0` keeps SQLite off the security index: by security, each chunk
        of 500 accounts visited every lot of the traded securities, so a 10,000-account book's
        quarter read its 1.3 million lots twenty times)."""
        ids = sorted({a for a, _ in pairs})
        sids = sorted({s for _, s in pairs})
        for lid, aid, sid, ref, qty, cost, acq, fx in chunked(
            self.session,
            select(TaxLot.id, TaxLot.account_id, TaxLot.security_id, TaxLot.lot_ref, TaxLot.quantity,
                   TaxLot.unit_cost, TaxLot.acquired, TaxLot.fx_rate).where((TaxLot.security_id + 0).in_(sids)),
            TaxLot.account_id, ids,
        ):  # fmt: skip
            if (aid, sid) in pairs:
                self._lots.setdefault((aid, sid), []).append(
                    _Lot(lid, str(ref), Decimal(qty), Decimal(cost), acq, Decimal(fx))
                )
        for p in pairs:
            self._lots.setdefault(p, [])

    def _plan(self, f: TradeFill, a: Acct, s: Sec) -> _Plan:
        """The rows of one fill, as LedgerBooker.book computes them; ValueError/NotFound if the
        booker would refuse it (it is then booked by the booker, which says why)."""
        settle = f.settle_date or self._settle_date(s.mic, f.trade_date)
        if settle < f.trade_date:
            raise ValueError("settle date before the trade date")
        fx_rate = self._fx_rate(s.currency, a.base, f.trade_date)
        gross = f.quantity * f.price * s.mult
        costs = f.commission + f.fees
        booking = dict(
            source_ref=f.source_ref, kind="trade", account_id=a.id, security_id=s.id, side=f.side.value,
            quantity=f.quantity, price=f.price, commission=f.commission, fees=f.fees, currency=s.currency,
            cash_amount=ZERO, trade_date=f.trade_date, settle_date=settle, replacement_used=ZERO, lot_ref=None,
        )  # fmt: skip
        plan = _Plan(len(self._out), booking)
        key = (a.id, s.id)
        if f.side == Side.BUY:
            cash = round_money(-(gross + costs), s.currency)
            plan.buy = dict(
                account_id=a.id, security_id=s.id, quantity=f.quantity,
                unit_cost=((gross + costs) / (f.quantity * s.mult)).quantize(UNIT), acquired=f.trade_date,
                fx_rate=fx_rate,
            )  # fmt: skip
        else:
            cash = round_money(gross - costs, s.currency)
            plan.gains = self._relieve(f, a, s, key, cash, fx_rate)
        booking["cash_amount"] = cash
        plan.move = dict(
            account_id=a.id, currency=s.currency, amount=round_money(cash, s.currency), kind="trade",
            trade_date=f.trade_date, settle_date=settle, settled=False,
            note=f"{f.side.value} {f.quantity} {s.symbol} @ {f.price}",
        )  # fmt: skip
        return plan

    def _relieve(
        self, f: TradeFill, a: Acct, s: Sec, key: tuple[int, int], net: Decimal, sale_fx: Decimal
    ) -> list[dict[str, Any]]:
        lots = self._lots[key]
        months = self._long_after(a.jurisdiction)
        chosen = choose_lots(
            [OpenLot(x.ref, x.quantity, x.unit_cost, x.acquired, x.fx_rate) for x in lots], f.quantity,
            LotRelief(a.relief), price=f.price, sale_fx=sale_fx, sold=f.trade_date, long_after_months=months,
        )  # fmt: skip
        by_ref = {x.ref: x for x in lots}
        gains, left_proceeds = [], net
        for i, (lot, qty) in enumerate(chosen):
            last = i == len(chosen) - 1
            proceeds = left_proceeds if last else round_money(net * qty / f.quantity, s.currency)
            left_proceeds -= proceeds
            cost = qty * lot.unit_cost * s.mult
            proceeds_base = round_money(proceeds * sale_fx, a.base)
            cost_base = round_money(cost * lot.fx_rate, a.base)
            gain_base = proceeds_base - cost_base
            price_gain = round_money((proceeds - cost) * sale_fx, a.base)
            gains.append(dict(
                account_id=a.id, security_id=s.id, lot_ref=lot.ref, quantity=qty, acquired=lot.acquired,
                sold=f.trade_date, currency=s.currency, base_currency=a.base, proceeds_local=proceeds,
                cost_local=round_money(cost, s.currency), proceeds_base=proceeds_base, cost_base=cost_base,
                gain_base=gain_base, price_gain_base=price_gain, fx_gain_base=gain_base - price_gain,
                term=term(lot.acquired, f.trade_date, months), wash_disallowed_base=ZERO,
                wash_unmatched_qty=qty if (gain_base < 0 and a.us_taxable) else ZERO, wash_note=None,
            ))  # fmt: skip
        for lot, qty in chosen:
            row = by_ref[lot.ref]
            row.quantity = row.quantity - qty
            if row.quantity == 0:
                lots.remove(row)
                self._lot_updates.pop(row.id, None)
                self._lot_deletes.add(row.id)
            else:
                self._lot_updates[row.id] = row.quantity
        return gains

    def _write(self) -> None:
        """Write every planned fill (bookings first: their ids name the lots bought)."""
        plans, self._pending = self._pending, []
        s = self.session
        if plans:
            ids = list(s.scalars(insert(table_of(Booking)).returning(table_of(Booking).c.id, sort_by_parameter_order=True),
                                 [p.booking for p in plans]))  # fmt: skip
            refs, lots, gains, moves = [], [], [], []
            for bid, p in zip(ids, plans, strict=True):
                if p.buy is not None:
                    refs.append({"b_id": bid, "b_ref": f"B{bid}"})
                    lots.append({**p.buy, "lot_ref": f"B{bid}"})
                gains += [{**g, "booking_id": bid} for g in p.gains]
                moves.append({**p.move, "booking_id": bid})
            if refs:
                bt = cast(Table, Booking.__table__)
                s.execute(update(bt).where(bt.c.id == bindparam("b_id")).values(lot_ref=bindparam("b_ref")), refs)  # fmt: skip
            if gains:
                s.execute(insert(table_of(RealizedGain)), gains)
            if lots:
                new_ids = list(
                    s.scalars(
                        insert(table_of(TaxLot)).returning(
                            table_of(TaxLot).c.id, sort_by_parameter_order=True
                        ),
                        lots,
                    )
                )
                for lid, lot in zip(new_ids, lots, strict=True):
                    self._lots.setdefault((lot["account_id"], lot["security_id"]), []).append(
                        _Lot(lid, lot["lot_ref"], lot["quantity"], lot["unit_cost"], lot["acquired"], lot["fx_rate"])
                    )  # fmt: skip
            s.execute(insert(table_of(CashMovement)), moves)
            self._balances(moves)
            for bid, p in zip(ids, plans, strict=True):
                self._out[p.at] = Booked(
                    bid, p.booking["cash_amount"], p.booking["settle_date"],
                    f"B{bid}" if p.buy is not None else None,
                    tuple((g["lot_ref"], g["quantity"], g["gain_base"], g["term"]) for g in p.gains),
                )  # fmt: skip
        touched = bool(self._lot_updates or self._lot_deletes)
        if self._lot_updates:
            lt = cast(Table, TaxLot.__table__)
            s.execute(update(lt).where(lt.c.id == bindparam("l_id")).values(quantity=bindparam("l_qty")),
                      [{"l_id": i, "l_qty": q} for i, q in self._lot_updates.items()])  # fmt: skip
            self._lot_updates = {}
        if self._lot_deletes:
            ids_ = sorted(self._lot_deletes)
            for i in range(0, len(ids_), CHUNK):
                s.execute(delete(cast(Table, TaxLot.__table__)).where(TaxLot.id.in_(ids_[i : i + CHUNK])))  # fmt: skip
            self._lot_deletes = set()
        self._pending_buys = set()
        s.flush()
        if touched:  # lots the single-fill path read into the session are stale now
            for obj in [o for o in s.identity_map.values() if isinstance(o, TaxLot)]:
                s.expire(obj)

    def _balances(self, moves: list[dict[str, Any]]) -> None:
        """Add each movement to its unsettled balance through the session's objects (a booking by
        the single-fill path later in the same session then sees them)."""
        delta: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for m in moves:
            delta[(m["account_id"], m["currency"])] += m["amount"]
        found: dict[tuple[int, str], CashBalance] = {}
        ids = sorted({k[0] for k in delta})
        for i in range(0, len(ids), CHUNK):
            for bal in self.session.scalars(
                select(CashBalance).where(CashBalance.account_id.in_(ids[i : i + CHUNK]))
            ):
                found[(bal.account_id, bal.currency)] = bal
        for (aid, ccy), amount in delta.items():
            have = found.get((aid, ccy))
            if have is None:
                self.session.add(CashBalance(account_id=aid, currency=ccy, settled=ZERO, unsettled=amount))
            else:
                have.unsettled = Decimal(have.unsettled or 0) + amount

    # ---- the driver -----------------------------------------------------------------------

    def book_all(
        self, fills: list[TradeFill], on_error: Callable[[int, BookingError], None] | None = None
    ) -> list[Booked | None]:
        """Book `fills` in their order; what each booked, in order. A fill the booker refuses
        (BookingError) is given to `on_error` (index, error) and booking goes on (None in its
        place), like booking one by one and collecting the refusals; without `on_error` the error
        propagates, with what came before it written (the caller's transaction decides)."""
        accts = load_accounts(self.session, {f.account for f in fills})
        secs = load_securities(self.session, {f.symbol for f in fills})
        slow = single_path(self.session, fills, accts, secs)
        self._load_lots(
            {(accts[f.account].id, secs[f.symbol].id) for n, f in enumerate(fills) if n not in slow}
        )
        hh_of = {a.id: a.household for a in accts.values()}
        for n, f in enumerate(fills):
            if n not in slow:
                a, s = accts[f.account], secs[f.symbol]
                key = (a.id, s.id)
                if f.side == Side.SELL and key in self._pending_buys:
                    self._write()
                if key not in self._lots:
                    self._write()
                    self._load_lots({key})
                try:
                    plan = self._plan(f, a, s)
                except (ValueError, ReliefError, NotFound, ArithmeticError):
                    slow.add(n)  # nothing was changed: the booker books it or says why
                else:
                    self._pending.append(plan)
                    self._out.append(None)
                    if f.side == Side.BUY:
                        self._pending_buys.add(key)
                    continue
            self._write()
            try:
                r = self.booker.book(self.session, f)
            except BookingError as exc:
                if on_error is None:
                    raise
                on_error(n, exc)
                self._out.append(None)
            else:
                self._out.append(Booked(
                    r.booking_id, r.cash_amount, r.settle_date, r.lot_opened,
                    tuple((g.lot_ref, g.quantity, g.gain_base, g.term) for g in r.realized),
                ))  # fmt: skip
            a_ = accts.get(f.account)
            if a_ is not None:  # its lots (and a wash match's) are read again
                for k in [k for k in self._lots if hh_of.get(k[0], -1) == a_.household or k[0] == a_.id]:
                    del self._lots[k]
        self._write()
        out, self._out = self._out, []
        return out
