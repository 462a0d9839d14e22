"""What brokers report: execution reports, cancel rejects and session changes, applied on the
engine thread (engine.oms.loop). Never raises for bad broker data: an edge the state table does
not have is alerted and the order kept as it is.

On every logon the OMS asks the broker for the status of each order it holds as sent and not
final, resends those the broker never got (same ClOrdID, so a duplicate is impossible) and takes
the broker's status for the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidTransition
from engine.oms import routing
from engine.oms.blocks import Blocks
from engine.oms.booking import Booking
from engine.oms.context import OmsContext, Tx
from engine.oms.events import BrokerSessionChanged
from engine.oms.ids import new_cl_ord_id
from engine.oms.journal import ORDER_MACHINE
from engine.oms.messages import (
    AllocAck,
    AllocReport,
    BusinessReject,
    CancelReject,
    ExecReport,
    Inbound,
    SessionState,
)
from engine.oms.post_trade import PostTrade
from engine.oms.progress import record as record_progress
from engine.oms.recovery import already_recovered, execution_row, missing_fill, recovered_report
from engine.oms.resend import resent_since_asked
from engine.oms.retry import is_transient
from engine.oms.router import Router
from engine.oms.status import FINAL, FIX_ORD_STATUS, OrderStatus
from engine.oms.tables import ClientOrderId, Execution, Order
from engine.oms.transitions import Incoming, event_of
from engine.oms.wave_fills import WaveFills
from engine.store.accounts import Account

log = logging.getLogger("engine.oms.service")
S = OrderStatus
I = Incoming  # noqa: E741
PX = Decimal("0.000001")

EXEC_TYPE_INCOMING: dict[str, Incoming] = {
    "A": I.PENDING_NEW,
    "0": I.NEW,
    "3": I.DONE_FOR_DAY,
    "4": I.CANCELED,
    "5": I.REPLACED,
    "6": I.PENDING_CANCEL,
    "8": I.REJECTED,
    "C": I.EXPIRED,
    "D": I.RESTATED,
    "E": I.PENDING_REPLACE,
    "I": I.ORDER_STATUS,
}


class Executions:
    """Applies broker messages to orders; finished orders go to booking."""

    def __init__(
        self, ctx: OmsContext, blocks: Blocks, booking: Booking, router: Router, post_trade: PostTrade
    ) -> None:
        self.ctx = ctx
        self.blocks = blocks
        self.booking = booking
        self.router = router
        self.post_trade = post_trade
        self.wave = WaveFills(ctx, booking)

    def apply(self, message: Inbound) -> None:
        """Apply one broker message (on the engine thread). Never raises for bad broker data."""
        if isinstance(message, SessionState):
            self._session(message)
            return
        with self.ctx.tx() as tx:
            self._one(tx, message)

    def _one(self, tx: Tx, m: Inbound) -> None:
        if isinstance(m, ExecReport):
            self._exec(tx, m)
        elif isinstance(m, CancelReject):
            self._cancel_reject(tx, m)
        elif isinstance(m, AllocAck):
            self.post_trade.apply_ack(tx, m)
        elif isinstance(m, AllocReport):
            self.post_trade.apply_report(tx, m)
        elif isinstance(m, BusinessReject):
            self.post_trade.apply_business_reject(tx, m)

    def apply_batch(self, messages: Sequence[Inbound], progress: Mapping[str, int] | None = None) -> None:
        """Apply many broker messages in one transaction, each in its own savepoint: one bad
        message is logged, alerted and skipped, the others are kept. Session changes are applied
        after. A transient database error (engine.oms.retry) is raised, never skipped: the whole
        transaction rolls back and the caller (engine.oms.loop) applies the batch again.
        `progress`: the last MsgSeqNum of each session in the batch, recorded in the same
        transaction (engine.oms.progress), so the resume point moves exactly when they apply."""
        later = [m for m in messages if isinstance(m, SessionState)]
        with self.ctx.tx() as tx:
            self.ctx.stamp_waiting(tx)  # the last wave's hand-off times (engine.oms.waves)
            messages = self.wave.apply(tx, messages)  # ordinary acks and fills in bulk
            held = self._prefetch(tx, messages)  # noqa: F841  (kept: the identity map holds them weakly)
            for m in messages:
                if isinstance(m, SessionState):
                    continue
                try:
                    with tx.session.begin_nested():
                        self._one(tx, m)
                except Exception as exc:
                    if isinstance(m, ExecReport) and tx.exec_ids is not None:  # its row rolled back
                        tx.exec_ids.discard((m.broker, m.exec_id))
                    if is_transient(exc):  # retried by the loop, never dropped
                        raise
                    log.exception("failed to apply %r", m)
                    self.ctx.alert(tx, None, getattr(m, "cl_ord_id", ""), f"could not apply {m!r}: {exc}")
            if progress:
                record_progress(tx.session, progress)
        for m in later:
            self._session(m)

    @staticmethod
    def _prefetch(tx: Tx, messages: Sequence[Inbound]) -> list[object]:
        """Read what a batch's execution reports look up - their ExecIDs already applied, their
        ClOrdIDs and orders - in three statements, not three per message. Returns the loaded rows
        (the caller keeps them for the batch, so the session finds them by identity)."""
        reports = [m for m in messages if isinstance(m, ExecReport)]
        if not reports:
            return []
        s = tx.session
        rows = s.execute(
            select(Execution.broker, Execution.exec_id).where(
                Execution.exec_id.in_({r.exec_id for r in reports})
            )
        )
        tx.exec_ids = {(str(b), str(e)) for b, e in rows}
        keys = {k for r in reports for k in (r.cl_ord_id, r.orig_cl_ord_id) if k}
        links = list(s.scalars(select(ClientOrderId).where(ClientOrderId.cl_ord_id.in_(keys))))
        ids = {link.order_id for link in links}
        orders = list(s.scalars(select(Order).where(Order.id.in_(ids)))) if ids else []
        return [*links, *orders]

    def _session(self, m: SessionState) -> None:
        self.ctx.sessions[m.broker] = m
        self.ctx.bus.publish(
            BrokerSessionChanged(
                broker=m.broker,
                logged_on=m.logged_on,
                next_sender_seq=m.next_sender_seq,
                next_target_seq=m.next_target_seq,
                kind=m.kind,
            )
        )
        if m.kind == "logon":
            self.router.reconcile(m.broker)
            self.post_trade.send_pending(m.broker)  # allocation instructions made while it was down

    @staticmethod
    def _find(
        s: Session, cl_ord_id: str | None, orig: str | None
    ) -> tuple[Order | None, ClientOrderId | None]:
        for key in (cl_ord_id, orig):
            if key:
                link = s.get(ClientOrderId, key)
                if link is not None:
                    return s.get(Order, link.order_id), link
        return None, None

    def _exec(self, tx: Tx, r: ExecReport) -> None:
        ctx = self.ctx
        s = tx.session
        if tx.exec_ids is not None:
            dup: object = (r.broker, r.exec_id) if (r.broker, r.exec_id) in tx.exec_ids else None
        else:
            dup = s.scalar(
                select(Execution.id).where(Execution.broker == r.broker, Execution.exec_id == r.exec_id)
            )
        if dup is not None:
            ctx.duplicates += 1
            log.info("duplicate ExecID %s from %s ignored (PossDup=%s)", r.exec_id, r.broker, r.poss_dup)
            return
        o, _ = self._find(s, r.cl_ord_id, r.orig_cl_ord_id)
        if o is None:
            ctx.alert(tx, None, r.cl_ord_id, f"execution report {r.exec_id} for an unknown ClOrdID")
            return
        if already_recovered(s, o, r):
            ctx.duplicates += 1
            log.info(
                "fill %s for %s: its quantity was already recovered from a status", r.exec_id, o.cl_ord_id
            )
            return
        s.add(execution_row(o.id, r))
        if tx.exec_ids is not None:
            tx.exec_ids.add((r.broker, r.exec_id))
        if r.broker_order_id and not o.broker_order_id:
            o.broker_order_id = r.broker_order_id
        if r.unknown_order:
            self._unknown(tx, o, r)
            return
        if r.exec_type == "F":
            incoming = I.FULL_FILL if r.leaves_qty == 0 or r.ord_status == "2" else I.PARTIAL_FILL
            self._fill(tx, o, r)
        elif r.exec_type in EXEC_TYPE_INCOMING:
            incoming = EXEC_TYPE_INCOMING[r.exec_type]
        else:
            ctx.alert(tx, o, o.cl_ord_id, f"ExecType {r.exec_type!r} not handled (ExecID {r.exec_id})")
            return
        self._recover(tx, o, r)
        event = event_of(incoming)
        facts = {"broker_status": FIX_ORD_STATUS.get(r.ord_status), "reissue": incoming == I.ORDER_STATUS}
        detail = {
            "exec_id": r.exec_id,
            "exec_type": r.exec_type,
            "ord_status": r.ord_status,
            "last_qty": str(r.last_qty),
            "last_px": str(r.last_px),
            "poss_dup": r.poss_dup,
        }
        if r.text:
            detail["text"] = r.text
        try:
            if incoming == I.REPLACED:
                ORDER_MACHINE.next(o.status, event, o, facts)  # the edge first: nothing taken without it
                self._take_replacement(tx, o, r)
            new = S(ORDER_MACHINE.next(o.status, event, o, facts))
        except InvalidTransition as exc:
            ctx.alert(tx, o, o.cl_ord_id, f"{exc} (ExecID {r.exec_id}); status kept")
            ctx.fire(tx, o, "ignored", None, {"event": event, **detail})
            return
        pending = (S.PENDING_CANCEL, S.PENDING_REPLACE)
        if facts["reissue"] and o.status in pending and facts["broker_status"] in (S.NEW, S.PARTIALLY_FILLED):
            # The broker holds the order live and never got our request (lost in a crash or a
            # dropped connection): ask again with a fresh ClOrdID and stay pending.
            self._reissue(tx, o)
        o.leaves_qty = (
            Decimal(0) if new in FINAL or new == S.DONE_FOR_DAY else max(o.quantity - o.cum_qty, Decimal(0))
        )
        self._check_invariants(tx, o, r, new)
        ctx.fire(tx, o, event, None, detail, facts)
        if new not in (S.PENDING_CANCEL, S.PENDING_REPLACE):
            o.prev_status = None
        ctx.changed(tx, o)
        if new in FINAL:
            self.booking.allocate(tx, o, r)

    def _fill(self, tx: Tx, o: Order, r: ExecReport) -> None:
        """Add a fill: CumQty grows by LastQty, AvgPx is the quantity-weighted mean of all fills."""
        if r.last_qty <= 0 or r.last_px <= 0:
            self.ctx.alert(
                tx, o, o.cl_ord_id, f"fill {r.exec_id} with LastQty {r.last_qty} at {r.last_px}: ignored"
            )
            return
        tx.session.flush()
        fills = tx.session.execute(
            select(Execution.last_qty, Execution.last_px).where(
                Execution.order_id == o.id, Execution.exec_type == "F", Execution.last_qty > 0
            )
        ).all()
        cum = sum((Decimal(str(q)) for q, _ in fills), Decimal(0))
        notional = sum((Decimal(str(q)) * Decimal(str(p)) for q, p in fills), Decimal(0))
        if cum > o.quantity:
            self.ctx.alert(tx, o, o.cl_ord_id, f"overfill: CumQty {cum} exceeds OrderQty {o.quantity}")
        o.cum_qty = cum
        o.avg_px = (notional / cum).quantize(PX)

    def _recover(self, tx: Tx, o: Order, r: ExecReport) -> None:
        """Book what the broker's CumQty says was filled beyond our fills (engine.oms.recovery)."""
        gap = missing_fill(o, r)
        if gap is None:
            return
        fill = recovered_report(r, *gap)
        tx.session.add(execution_row(o.id, fill))
        self._fill(tx, o, fill)
        self.ctx.alert(
            tx, o, o.cl_ord_id,
            f"recovered a fill of {gap[0].normalize():f} at {gap[1].normalize():f} from the broker's CumQty {r.cum_qty} and AvgPx "
            f"{r.avg_px} (ExecID {r.exec_id}): the broker did not resend it",
        )  # fmt: skip

    def _check_invariants(self, tx: Tx, o: Order, r: ExecReport, new: S) -> None:
        """Our quantities against the broker's view; a mismatch is alerted, never fatal."""
        problems = []
        if r.cum_qty != o.cum_qty:
            problems.append(f"broker CumQty {r.cum_qty} but fills add up to {o.cum_qty}")
        elif o.cum_qty > 0 and abs(r.avg_px - o.avg_px) > Decimal("0.0001"):
            problems.append(f"broker AvgPx {r.avg_px} but fills average {o.avg_px}")
        if new not in FINAL and new != S.DONE_FOR_DAY and o.cum_qty + o.leaves_qty != o.quantity:
            problems.append(f"CumQty {o.cum_qty} + LeavesQty {o.leaves_qty} != OrderQty {o.quantity}")
        for p in problems:
            self.ctx.alert(tx, o, o.cl_ord_id, f"{p} (ExecID {r.exec_id})")

    def _unknown(self, tx: Tx, o: Order, r: ExecReport) -> None:
        """The broker never got this order: it was committed but the send was lost. Send it again,
        under the same ClOrdID (a broker refuses a ClOrdID twice, so it cannot execute twice)."""
        if o.status == S.PENDING_NEW and o.cum_qty == 0:
            if resent_since_asked(tx.session, o.id):  # one resend per round of status requests
                log.info("order %s already sent again since the last status request", o.cl_ord_id)
                return
            sec = self.ctx.symbol(tx.session, o)
            account = None
            if o.account_id is not None:
                acc = tx.session.get(Account, o.account_id)
                account = acc.code if acc else None
            self.ctx.fire(tx, o, "resend", None, {"reason": "broker does not know the order"})
            tx.outbound.append(routing.new_order(o, sec.symbol, sec.mic, account))
        else:
            self.ctx.alert(tx, o, o.cl_ord_id, f"broker says it does not know this {o.status} order")

    def _reissue(self, tx: Tx, o: Order) -> None:
        s = tx.session
        last = s.scalars(
            select(ClientOrderId)
            .where(ClientOrderId.order_id == o.id, ClientOrderId.purpose.in_(("cancel", "replace")))
            .order_by(ClientOrderId.created_at.desc())
        ).first()
        sec = self.ctx.symbol(s, o)
        if o.status == S.PENDING_CANCEL:
            cid = new_cl_ord_id("CX")
            s.add(ClientOrderId(cl_ord_id=cid, order_id=o.id, purpose="cancel", orig_cl_ord_id=o.cl_ord_id))
            tx.outbound.append(routing.cancel_order(o, cid, sec.symbol))
        elif last is not None and last.quantity is not None:
            cid = new_cl_ord_id("RP")
            s.add(
                ClientOrderId(
                    cl_ord_id=cid,
                    order_id=o.id,
                    purpose="replace",
                    orig_cl_ord_id=o.cl_ord_id,
                    quantity=last.quantity,
                    limit_price=last.limit_price,
                )
            )
            tx.outbound.append(
                routing.replace_order(o, cid, sec.symbol, sec.mic, last.quantity, last.limit_price)
            )
        self.ctx.fire(tx, o, "request_reissued", None, None)

    def _take_replacement(self, tx: Tx, o: Order, r: ExecReport) -> None:
        """The broker replaced the order: it continues under the new ClOrdID with the new terms."""
        link = tx.session.get(ClientOrderId, r.cl_ord_id)
        if link is None or link.purpose != "replace" or link.order_id != o.id:
            self.ctx.alert(
                tx, o, o.cl_ord_id, f"Replaced for {r.cl_ord_id}, which is not our replace request"
            )
            return
        old = o.cl_ord_id
        # The superseded ClOrdID is what FIX calls replaced; the order itself continues.
        self.ctx.fire(tx, o, "replaced", None, {"old_cl_ord_id": old, "new_cl_ord_id": link.cl_ord_id})
        o.orig_cl_ord_id = old
        o.cl_ord_id = link.cl_ord_id
        if link.quantity is not None:
            if o.account_id is None and link.quantity != o.quantity:
                self.blocks.resize_children(tx, o, link.quantity)
            o.quantity = link.quantity
        o.limit_price = link.limit_price
        if o.account_id is None:
            for c in self.blocks.children(tx.session, o):
                c.limit_price = link.limit_price

    def _cancel_reject(self, tx: Tx, m: CancelReject) -> None:
        ctx = self.ctx
        o, _ = self._find(tx.session, m.cl_ord_id, m.orig_cl_ord_id)
        if o is None:
            ctx.alert(tx, None, m.cl_ord_id, "cancel reject for an unknown ClOrdID")
            return
        detail = {"cl_ord_id": m.cl_ord_id, "response_to": m.response_to, "reason": m.reason, "text": m.text}
        if ORDER_MACHINE.allows(o.status, I.CANCEL_REJECT):
            ctx.fire(tx, o, I.CANCEL_REJECT, None, detail)
        else:
            ctx.alert(
                tx, o, o.cl_ord_id, f"{InvalidTransition('order', o.status, I.CANCEL_REJECT)}; status kept"
            )
            ctx.fire(tx, o, "ignored", None, {"event": str(I.CANCEL_REJECT), **detail})
        o.prev_status = None
        self.blocks.follow(tx, o, "block:cancel_reject")
        ctx.changed(tx, o)
