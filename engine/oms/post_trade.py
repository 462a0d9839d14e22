"""Post-trade over FIX: an AllocationInstruction (35=J) for every block that ends with fills, and
the broker's AllocationInstructionAck (35=P), AllocationReport (35=AS) or BusinessMessageReject
(35=j) applied to it. Statuses move through engine.state.allocations.ALLOC_INSTRUCTIONS.

An instruction is committed `pending` in the transaction that allocates the block, handed to the
broker's session after the commit and then marked `sent`; one the session could not take (logged
out) goes at the broker's next logon or the loop's next tick. Inbound P and AS messages come
through the same loop, batches and resume points as execution reports (engine.oms.loop,
engine.oms.progress), so a restart or a gap replays them: a replayed message finds the
instruction already past it and is counted as a duplicate, never applied twice.

A broker that never answers (QuickFIX's example executor answers J with a BusinessMessageReject,
Unsupported Message Type) leaves the instruction `sent`, with one alert; nothing fails.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.oms.alloc_accounts import alloc_accounts
from engine.oms.context import OmsContext, Tx
from engine.oms.errors import OrderRejected
from engine.oms.events import AllocationChanged, OrderAlert
from engine.oms.ids import new_cl_ord_id
from engine.oms.messages import AllocAck, AllocInstruction, AllocLine, AllocReport, BusinessReject
from engine.oms.tables import AllocInstruction as Instruction
from engine.oms.tables import Order
from engine.state.allocations import (
    ACCEPTED,
    ACKNOWLEDGED,
    ALLOC_INSTRUCTIONS,
    PENDING,
    REJECTED,
    REPLACED,
    SENT,
)
from engine.store.accounts import Account
from engine.store.database import Database

log = logging.getLogger("engine.oms.service")
M = ALLOC_INSTRUCTIONS

ACK_STATUS_EVENT = {"3": "received", "0": "accept", "1": "reject", "2": "reject", "5": "reject"}
"""AllocStatus (87) of an AllocationInstructionAck -> the machine's event (4, incomplete: alerted)."""
ALLOC_REJ_CODE = {
    0: "unknown account(s)",
    1: "incorrect quantity",
    2: "incorrect average price",
    3: "unknown executing broker mnemonic",
    4: "commission difference",
    5: "unknown OrderID",
    6: "unknown ListID",
    7: "other (see text)",
    8: "incorrect allocated quantity",
    9: "calculation difference",
    10: "unknown or stale ExecID",
    11: "mismatched data value",
    12: "unknown ClOrdID",
    13: "warehouse request rejected",
}
"""AllocRejCode (88) and IndividualAllocRejCode (776) in words (FIX 4.4)."""
_DONE = {"received": {ACKNOWLEDGED, ACCEPTED, REJECTED, REPLACED}, "accept": {ACCEPTED, REPLACED},
         "reject": {REJECTED, REPLACED}}  # fmt: skip


class PostTrade:
    """Makes, sends and follows the FIX allocation instructions of finished blocks."""

    def __init__(self, ctx: OmsContext, ack_wait: float = 60.0) -> None:
        self.ctx = ctx
        self.ack_wait = timedelta(seconds=ack_wait)
        """How long a sent instruction may wait for its ack before it is alerted (once)."""
        ctx.after_send = self.mark_sent

    # ------------------------------------------------------------------ making and sending

    def instruct(self, tx: Tx, block: Order, allocs: Sequence[Mapping[str, Any]]) -> None:
        """A block that ended with fills gets its AllocationInstruction: committed `pending` here,
        sent after the commit. Lone orders and blocks without a broker or fills get none."""
        s = tx.session
        if block.account_id is not None or not block.broker or not allocs:
            return
        if s.scalar(select(Instruction.id).where(Instruction.block_id == block.id).limit(1)) is not None:
            return
        numbers = alloc_accounts(s, [int(a["account_id"]) for a in allocs])
        per: dict[str, dict[str, Any]] = {}
        for a in allocs:
            code, number = numbers[int(a["account_id"])]
            line = per.setdefault(code, {"account": code, "alloc_account": number, "quantity": Decimal(0)})
            line["quantity"] += Decimal(a["quantity"])
        first = allocs[0]
        ins = Instruction(
            alloc_id=new_cl_ord_id("AL"),
            block_id=block.id,
            broker=block.broker,
            trans_type="new",
            alloc_type="2",
            side=block.side,
            security_id=block.security_id,
            quantity=block.cum_qty,
            avg_px=block.avg_px,
            currency=block.currency,
            trade_date=first["trade_date"],
            settle_date=first["settle_date"],
            cl_ord_ids=[[block.cl_ord_id, block.broker_order_id]],
            lines=[{**v, "quantity": str(v["quantity"])} for v in per.values()],
            created_by=self.ctx.username,
        )
        M.start(s, ins, PENDING, actor=self.ctx.username, detail={"block": block.cl_ord_id})
        tx.outbound.append(self.message(s, ins))
        self._changed(tx, ins)

    def message(self, s: Session, ins: Instruction) -> AllocInstruction:
        """The J message of a stored instruction."""
        block = self.ctx.order(s, ins.block_id)
        sec = self.ctx.symbol(s, block)
        return AllocInstruction(
            broker=ins.broker,
            alloc_id=ins.alloc_id,
            trans_type=ins.trans_type,
            side=ins.side,
            symbol=sec.symbol,
            mic=sec.mic,
            quantity=ins.quantity,
            avg_px=ins.avg_px,
            currency=ins.currency,
            trade_date=ins.trade_date,
            settle_date=ins.settle_date,
            cl_ord_ids=tuple((str(c[0]), c[1]) for c in ins.cl_ord_ids),
            lines=tuple(AllocLine(x["alloc_account"], Decimal(x["quantity"])) for x in ins.lines),
            ref_alloc_id=ins.ref_alloc_id,
            alloc_type=ins.alloc_type,
        )

    def mark_sent(self, handed: set[str]) -> None:
        """Instructions their session took are `sent` (called after the send, engine.oms.context)."""
        with self.ctx.tx() as tx:
            rows = tx.session.scalars(
                select(Instruction).where(Instruction.alloc_id.in_(handed), Instruction.status == PENDING)
            ).all()
            now = self.ctx.clock.now()
            for ins in rows:
                M.fire(tx.session, ins, "send", actor=self.ctx.username, also={"sent_at": now})
                self._changed(tx, ins)

    def send_pending(self, broker: str | None = None) -> int:
        """Send instructions still `pending` (their session was down) to brokers now logged on."""
        gw = self.ctx.gateway
        if gw is None:
            return 0
        with self.ctx.database.session() as s:
            q = select(Instruction).where(Instruction.status == PENDING)
            if broker is not None:
                q = q.where(Instruction.broker == broker)
            out = [
                self.message(s, i) for i in s.scalars(q.order_by(Instruction.id)) if gw.is_logged_on(i.broker)
            ]
        handed = {m.alloc_id for m in out} & self.ctx.send_all(out)
        if handed:
            self.mark_sent(handed)
        return len(handed)

    def overdue(self) -> int:
        """Alert (once each) the instructions sent longer than `ack_wait` ago without an answer."""
        now = self.ctx.clock.now()
        late = (
            select(Instruction)
            .where(Instruction.status == SENT, Instruction.alerted_at.is_(None))
            .where(Instruction.sent_at <= now - self.ack_wait)
        )
        with self.ctx.database.session() as s:  # read first: most ticks find nothing to write
            if s.scalar(late.with_only_columns(Instruction.id).limit(1)) is None:
                return 0
        with self.ctx.tx() as tx:
            rows = tx.session.scalars(late).all()
            for ins in rows:
                why = f"no AllocationInstructionAck from {ins.broker} after {int(self.ack_wait.total_seconds())} s"
                self._unanswered(tx, ins, why, {"why": "no ack"})
            return len(rows)

    # ------------------------------------------------------------------ what the broker says

    def apply_ack(self, tx: Tx, m: AllocAck) -> None:
        """AllocationInstructionAck: received, accepted or rejected (with the broker's reason)."""
        ins = self._find(tx, m.alloc_id, "AllocationInstructionAck")
        if ins is None:
            return
        event = ACK_STATUS_EVENT.get(m.alloc_status)
        if event is None:
            self.ctx.alert(tx, None, m.alloc_id, f"AllocStatus {m.alloc_status} from {m.broker} not handled")
            return
        detail: dict[str, Any] = {"alloc_status": m.alloc_status, "poss_dup": m.poss_dup}
        also: dict[str, Any] = {"answered_at": m.received_at}
        if event == "reject":
            reason = _reason(m)
            detail.update(reject_code=m.reject_code, text=reason)
            also.update(reject_code=m.reject_code, reject_text=reason)
        self._move(tx, ins, event, detail, also)

    def apply_report(self, tx: Tx, m: AllocReport) -> None:
        """AllocationReport: the broker booked (or refused) the instruction; kept once by AllocReportID."""
        ins = self._find(tx, m.alloc_id, "AllocationReport")
        if ins is None:
            return
        if ins.report_id == m.report_id:
            self._duplicate(m.alloc_id, f"AllocationReport {m.report_id}")
            return
        detail = {"report_id": m.report_id, "report_type": m.report_type, "alloc_status": m.alloc_status,
                  "quantity": str(m.quantity), "avg_px": str(m.avg_px)}  # fmt: skip
        if m.alloc_status == "0":
            if ins.status in (SENT, ACKNOWLEDGED, PENDING):
                self._move(tx, ins, "accept", detail, {"answered_at": m.received_at})
            if ins.status == ACCEPTED:
                M.fire(tx.session, ins, "report", actor=self.ctx.username, detail=detail,
                       also={"report_id": m.report_id})  # fmt: skip
                self._changed(tx, ins)
            else:  # a report accepting what we hold as rejected or replaced: a person looks
                self.ctx.alert(
                    tx,
                    None,
                    ins.alloc_id,
                    f"AllocationReport {m.report_id} accepts a {ins.status} allocation",
                )
            return
        reason = m.text or ALLOC_REJ_CODE.get(m.reject_code or -1, f"AllocStatus {m.alloc_status}")
        self._move(tx, ins, "reject", {**detail, "text": reason},
                   {"reject_code": m.reject_code, "reject_text": reason, "report_id": m.report_id})  # fmt: skip

    def apply_business_reject(self, tx: Tx, m: BusinessReject) -> None:
        """A BusinessMessageReject of our J: the broker does not take allocations over FIX. The
        instruction stays `sent` (the allocation must reach the broker another way), alerted once."""
        if m.ref_msg_type != "J":
            self.ctx.alert(
                tx, None, m.ref_id, f"BusinessMessageReject of a {m.ref_msg_type} from {m.broker}: {m.text}"
            )
            return
        ins = self._find(tx, m.ref_id, "BusinessMessageReject")
        if ins is None:
            return
        if ins.status == PENDING:
            M.fire(tx.session, ins, "send", actor=self.ctx.username, also={"sent_at": m.received_at})
        if ins.status != SENT or ins.alerted_at is not None:
            self._duplicate(ins.alloc_id, "BusinessMessageReject")
            return
        why = (f"{m.broker} refused the AllocationInstruction (BusinessMessageReject reason {m.reason}: "
               f"{m.text or 'no text'}); it stays sent: give the allocation to the broker another way")  # fmt: skip
        self._unanswered(tx, ins, why, {"business_reject_reason": m.reason, "text": m.text})

    # ------------------------------------------------------------------ the desk's re-send

    def resend(self, alloc_id: str, username: str, corrections: Mapping[str, str] | None = None) -> str:
        """Re-send a rejected instruction after correction: a new one, AllocTransType Replace with
        RefAllocID = the rejected one (which becomes `replaced`). AllocAccounts are read again from
        the book (a custodian account number loaded since), then `corrections` (account code ->
        AllocAccount) apply. Needs orders.route; audited; returns the new AllocID."""
        with self.ctx.tx() as tx:
            s = tx.session
            self.ctx.allowed(s, username, "orders.route")
            old = s.scalar(select(Instruction).where(Instruction.alloc_id == alloc_id))
            if old is None:
                raise NotFound(f"allocation {alloc_id} does not exist")
            if old.status != REJECTED:
                raise OrderRejected(
                    f"allocation {alloc_id} is {old.status}: only a rejected allocation is re-sent"
                )
            fixes = dict(corrections or {})
            codes = [x["account"] for x in old.lines]
            unknown = sorted(set(fixes) - set(codes))
            if unknown:
                raise OrderRejected(
                    f"allocation {alloc_id}: account {unknown[0]} is not in it (accounts: {', '.join(codes)})"
                )
            blank = sorted(k for k, v in fixes.items() if not v.strip())
            if blank:
                raise OrderRejected(f"allocation {alloc_id}: account {blank[0]}: the AllocAccount is empty")
            ids = dict(s.execute(select(Account.code, Account.id).where(Account.code.in_(codes))).all())
            numbers = alloc_accounts(s, ids.values())
            lines = [
                {**x, "alloc_account": fixes.get(x["account"]) or numbers.get(ids.get(x["account"], -1), ("", x["alloc_account"]))[1]}
                for x in old.lines
            ]  # fmt: skip
            new = Instruction(
                alloc_id=new_cl_ord_id("AL"), block_id=old.block_id, broker=old.broker, trans_type="replace",
                ref_alloc_id=old.alloc_id, alloc_type=old.alloc_type, side=old.side,
                security_id=old.security_id, quantity=old.quantity, avg_px=old.avg_px, currency=old.currency,
                trade_date=old.trade_date, settle_date=old.settle_date, cl_ord_ids=old.cl_ord_ids,
                lines=lines, created_by=username,
            )  # fmt: skip
            changed = {x["account"]: x["alloc_account"] for x, y in zip(lines, old.lines) if x != y}
            M.fire(s, old, "replace", actor=username, detail={"by": new.alloc_id, "corrections": changed})
            M.start(s, new, PENDING, actor=username, event="resend",
                    detail={"replaces": old.alloc_id, "corrections": changed})  # fmt: skip
            tx.outbound.append(self.message(s, new))
            self._changed(tx, old)
            self._changed(tx, new)
            return new.alloc_id

    # ------------------------------------------------------------------ helpers

    def _find(self, tx: Tx, alloc_id: str, what: str) -> Instruction | None:
        ins = tx.session.scalar(select(Instruction).where(Instruction.alloc_id == alloc_id))
        if ins is None:
            self.ctx.alert(tx, None, alloc_id, f"{what} for an unknown AllocID {alloc_id}")
        return ins

    def _move(
        self, tx: Tx, ins: Instruction, event: str, detail: dict[str, Any], also: dict[str, Any]
    ) -> None:
        if ins.status == PENDING:  # answered before we recorded the send: it was sent
            M.fire(
                tx.session, ins, "send", actor=self.ctx.username, also={"sent_at": also.get("answered_at")}
            )
        if not M.allows(ins.status, event):
            if ins.status in _DONE.get(event, set()):
                self._duplicate(ins.alloc_id, f"{event} (instruction already {ins.status})")
            else:
                self.ctx.alert(
                    tx, None, ins.alloc_id, f"allocation {ins.alloc_id}: {event} while {ins.status}; kept"
                )
            return
        M.fire(tx.session, ins, event, actor=self.ctx.username, detail=detail, also=also)
        self._changed(tx, ins)

    def _unanswered(self, tx: Tx, ins: Instruction, why: str, detail: dict[str, Any]) -> None:
        M.fire(tx.session, ins, "unanswered", actor=self.ctx.username, detail={**detail, "message": why},
               also={"alerted_at": self.ctx.clock.now()})  # fmt: skip
        self.ctx.alerts += 1
        log.warning("allocation %s: %s", ins.alloc_id, why)
        tx.events.append(OrderAlert(order_id=ins.block_id, cl_ord_id=ins.alloc_id, message=why))
        self._changed(tx, ins)

    def _duplicate(self, alloc_id: str, what: str) -> None:
        self.ctx.duplicates += 1
        log.info("allocation %s: %s seen again, ignored", alloc_id, what)

    @staticmethod
    def _changed(tx: Tx, ins: Instruction) -> None:
        tx.events.append(
            AllocationChanged(
                order_id=ins.block_id, alloc_id=ins.alloc_id, status=ins.status, reason=ins.reject_text
            )
        )


def waiting(database: Database) -> int:
    """Instructions still waiting for their broker: `pending`, or `sent` or only `acknowledged`
    (received, not yet accepted or rejected) without an alert (the headless OMS gives them a few
    seconds before it stops)."""
    with database.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Instruction)
                .where(
                    (Instruction.status == PENDING)
                    | (Instruction.status.in_((SENT, ACKNOWLEDGED)) & Instruction.alerted_at.is_(None))
                )
            )
            or 0
        )


def _reason(m: AllocAck) -> str:
    """The broker's reason in words: its text (led by the code's meaning unless the text says it)
    and each refused account's own reason that the text does not already name."""
    label = ALLOC_REJ_CODE.get(m.reject_code, f"code {m.reject_code}") if m.reject_code is not None else ""
    text = m.text or ""
    parts = [text if label.lower() in text.lower() else ": ".join(x for x in (label, text) if x)]
    for account, code, said in m.accounts:
        if account and account not in text and (code is not None or said):
            parts.append(f"{account}: {said or ALLOC_REJ_CODE.get(code or -1, f'code {code}')}")
    return "; ".join(p for p in parts if p) or f"AllocStatus {m.alloc_status}"
