"""Translate between quickfix messages and the engine's immutable messages (no state, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.dialect import EXEC_TRANS_TYPE, adapt_outbound, exec_type_44
from connectors.fix.versions import FIX44, FixVersion
from engine.oms.drafts import HAS_LIMIT, HAS_STOP
from engine.oms.fx import fx_pair
from engine.oms.messages import (
    AllocAck,
    AllocInstruction,
    AllocReport,
    BusinessReject,
    CancelOrder,
    CancelReject,
    ExecReport,
    NewOrder,
    Outbound,
    ReplaceOrder,
    StatusRequest,
)

_TIME_FORMAT = "%Y%m%d-%H:%M:%S.%f"


def utc_timestamp(at: datetime | None = None) -> str:
    """FIX UTCTimestamp with milliseconds."""
    return (at or datetime.now(UTC)).astimezone(UTC).strftime(_TIME_FORMAT)[:-3]


def parse_timestamp(text: str) -> datetime | None:
    """A FIX UTCTimestamp (with or without fractions of a second) as an aware UTC datetime, else
    None. The usual form with milliseconds is read by slicing (strptime costs ~10 us, on every
    report); any other form, or a value that slicing cannot make a datetime of, goes to strptime."""
    if (
        len(text) == 21
        and text.isascii()
        and text[8] == "-"
        and text[11] == ":"
        and text[14] == ":"
        and text[17] == "."
        and (text[:8] + text[9:11] + text[12:14] + text[15:17] + text[18:]).isdigit()
    ):
        try:
            return datetime(
                int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[12:14]),
                int(text[15:17]), int(text[18:]) * 1000, tzinfo=UTC,
            )  # fmt: skip
        except ValueError:
            pass
    for fmt in (_TIME_FORMAT, "%Y%m%d-%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _message(msg_type: str) -> fix.Message:
    m = fix.Message()
    m.getHeader().setField(T.MSG_TYPE, msg_type)
    return m


class _Sink(Protocol):
    """What the builders below set fields on: a fix.Message, or _Fields."""

    def setField(self, tag: int, value: str) -> object: ...


class _Fields:
    """A message's body fields as they are set (a later set of a tag replaces it), written out as
    one tag=value string that QuickFIX parses in one call: a SWIG setField per field costs ~2 us,
    about a tenth of the whole NewOrderSingle on the engine thread's hot path."""

    def __init__(self) -> None:
        self.fields: dict[int, str] = {}

    def setField(self, tag: int, value: str) -> None:
        self.fields[tag] = value

    def message(self, msg_type: str) -> fix.Message:
        """The fix.Message with MsgType `msg_type` and these fields, the same as set one by one
        (a value QuickFIX could not read back from a string - empty, or with SOH - is set so)."""
        if all(isinstance(v, str) and v and "\x01" not in v for v in self.fields.values()):
            text = "".join(f"{t}={v}\x01" for t, v in self.fields.items())
            try:
                return fix.Message(f"{T.MSG_TYPE}={msg_type}\x01{text}", False)
            except Exception:  # QuickFIX could not parse it: the fields are set one by one below
                pass
        m = _message(msg_type)
        for t, v in self.fields.items():
            m.setField(t, v)
        return m


def _fx(out: NewOrder | ReplaceOrder) -> tuple[str, str] | None:
    """(dealt, counter) when the order is on an FX spot instrument (EURUSD on the OTC venue)."""
    return fx_pair(out.symbol) if out.mic == "XOFF" else None


def _instrument(m: _Sink, out: NewOrder | ReplaceOrder) -> None:
    """Symbol and venue; an FX spot order names the pair with SecurityType FOR and no exchange."""
    m.setField(T.SYMBOL, out.symbol)
    if _fx(out) is None:
        m.setField(T.SECURITY_EXCHANGE, out.mic)
    else:
        m.setField(T.SECURITY_TYPE, T.SECURITY_TYPE_FX)


def _order_terms(m: _Sink, out: NewOrder | ReplaceOrder) -> None:
    """OrdType, Price (limit, stop-limit and limit-on-close), StopPx (stop, stop-limit), TimeInForce,
    ExpireTime (GTD), TargetStrategy with its parameters (and ParticipationRate) and Currency: the
    same on D and G. On-close orders go as market or limit with
    TimeInForce 7, At the Close (FIX 4.4 has no OrdType 5 or B).

    FX spot: Currency is the dealt currency (OrderQty is in it) and SettlType 0, regular spot."""
    if out.order_type in T.ON_CLOSE_WIRE:
        ord_type, tif = T.ON_CLOSE_WIRE[out.order_type]
    else:
        ord_type, tif = T.ORD_TYPE_CODE[out.order_type], T.TIF_CODE[out.time_in_force]
    m.setField(T.ORD_TYPE, ord_type)
    if out.limit_price is not None and out.order_type in HAS_LIMIT:
        m.setField(T.PRICE, _num(out.limit_price))
    if out.stop_price is not None and out.order_type in HAS_STOP:
        m.setField(T.STOP_PX, _num(out.stop_price))
    m.setField(T.TIME_IN_FORCE, tif)
    if out.time_in_force == "gtd" and out.expire_at is not None:
        m.setField(T.EXPIRE_TIME, utc_timestamp(out.expire_at))
    if out.strategy is not None:
        m.setField(T.TARGET_STRATEGY, out.strategy)
        params = dict(out.strategy_params)
        if params:
            m.setField(T.TARGET_STRATEGY_PARAMETERS, ";".join(f"{k}={v}" for k, v in out.strategy_params))
        if "participation_rate" in params:
            m.setField(T.PARTICIPATION_RATE, params["participation_rate"])
    pair = _fx(out)
    m.setField(T.CURRENCY, out.currency if pair is None else pair[0])
    if pair is not None:
        m.setField(T.SETTL_TYPE, T.SETTL_TYPE_REGULAR)


def to_fix(out: Outbound, version: FixVersion = FIX44) -> fix.Message:
    """The FIX message in `version` for an outbound engine message."""
    order_type = out.order_type if isinstance(out, (NewOrder, ReplaceOrder)) else None
    return adapt_outbound(_to_fix44(out), order_type, version)


def _to_fix44(out: Outbound) -> fix.Message:
    """The FIX 4.4 message for an outbound engine message."""
    if isinstance(out, NewOrder):
        f = _Fields()
        f.setField(T.CL_ORD_ID, out.cl_ord_id)
        if out.account:
            f.setField(T.ACCOUNT, out.account)
        f.setField(T.HANDL_INST, "1")
        _instrument(f, out)
        f.setField(T.SIDE, T.SIDE_CODE[out.side])
        f.setField(T.TRANSACT_TIME, utc_timestamp())
        f.setField(T.ORDER_QTY, _num(out.quantity))
        _order_terms(f, out)
        return f.message("D")
    if isinstance(out, CancelOrder):
        m = _message("F")
        m.setField(T.ORIG_CL_ORD_ID, out.orig_cl_ord_id)
        m.setField(T.CL_ORD_ID, out.cl_ord_id)
        if out.broker_order_id:
            m.setField(T.ORDER_ID, out.broker_order_id)
        m.setField(T.SYMBOL, out.symbol)
        m.setField(T.SIDE, T.SIDE_CODE[out.side])
        m.setField(T.TRANSACT_TIME, utc_timestamp())
        m.setField(T.ORDER_QTY, _num(out.quantity))
        return m
    if isinstance(out, ReplaceOrder):
        m = _message("G")
        m.setField(T.ORIG_CL_ORD_ID, out.orig_cl_ord_id)
        m.setField(T.CL_ORD_ID, out.cl_ord_id)
        if out.broker_order_id:
            m.setField(T.ORDER_ID, out.broker_order_id)
        m.setField(T.HANDL_INST, "1")
        _instrument(m, out)
        m.setField(T.SIDE, T.SIDE_CODE[out.side])
        m.setField(T.TRANSACT_TIME, utc_timestamp())
        m.setField(T.ORDER_QTY, _num(out.quantity))
        _order_terms(m, out)
        return m
    if isinstance(out, StatusRequest):
        m = _message("H")
        m.setField(T.CL_ORD_ID, out.cl_ord_id)
        if out.broker_order_id:
            m.setField(T.ORDER_ID, out.broker_order_id)
        m.setField(T.SYMBOL, out.symbol)
        m.setField(T.SIDE, T.SIDE_CODE[out.side])
        return m
    if isinstance(out, AllocInstruction):
        return allocation_instruction(out)
    raise TypeError(f"not an outbound message: {out!r}")


def allocation_instruction(out: AllocInstruction) -> fix.Message:
    """AllocationInstruction (35=J): AllocID, AllocTransType (RefAllocID on a replace), AllocType 2,
    the block's orders (NoOrders: ClOrdID, OrderID), Side, the instrument, Quantity (53), AvgPx,
    Currency, TradeDate, SettlDate and one NoAllocs entry per account (AllocAccount, AllocQty)."""
    m = _message("J")
    m.setField(T.ALLOC_ID, out.alloc_id)
    m.setField(T.ALLOC_TRANS_TYPE, T.ALLOC_TRANS_TYPE_CODE[out.trans_type])
    m.setField(T.ALLOC_TYPE, out.alloc_type)
    if out.ref_alloc_id:
        m.setField(T.REF_ALLOC_ID, out.ref_alloc_id)
    m.setField(T.ALLOC_NO_ORDERS_TYPE, T.ALLOC_NO_ORDERS_EXPLICIT)
    for cl_ord_id, order_id in out.cl_ord_ids:
        g = fix.Group(T.NO_ORDERS, T.CL_ORD_ID)
        g.setField(T.CL_ORD_ID, cl_ord_id)
        if order_id:
            g.setField(T.ORDER_ID, order_id)
        m.addGroup(g)
    m.setField(T.SIDE, T.SIDE_CODE[out.side])
    m.setField(T.SYMBOL, out.symbol)
    if out.mic != "XOFF":
        m.setField(T.SECURITY_EXCHANGE, out.mic)
    else:
        m.setField(T.SECURITY_TYPE, T.SECURITY_TYPE_FX)
    m.setField(T.QUANTITY, _num(out.quantity))
    m.setField(T.AVG_PX, _num(out.avg_px))
    m.setField(T.CURRENCY, out.currency)
    m.setField(T.TRADE_DATE, out.trade_date.strftime("%Y%m%d"))
    m.setField(T.TRANSACT_TIME, utc_timestamp())
    if out.settle_date is not None:
        m.setField(T.SETTL_DATE, out.settle_date.strftime("%Y%m%d"))
    for line in out.lines:
        g = fix.Group(T.NO_ALLOCS, T.ALLOC_ACCOUNT)
        g.setField(T.ALLOC_ACCOUNT, line.alloc_account)
        g.setField(T.ALLOC_QTY, _num(line.quantity))
        m.addGroup(g)
    return m


def _get(m: fix.FieldMap, tag: int) -> str | None:
    return m.getField(tag) if m.isSetField(tag) else None


def _dec(m: fix.Message, tag: int) -> Decimal:
    v = _get(m, tag)
    return Decimal(v) if v not in (None, "") else Decimal(0)


def _flag(m: fix.Message, tag: int) -> bool:
    h = m.getHeader()
    return h.isSetField(tag) and h.getField(tag) == "Y"


def msg_type(m: fix.Message) -> str:
    return m.getHeader().getField(T.MSG_TYPE)


_PLAIN_REPORT_TAGS = frozenset(
    {
        # header and trailer (no repeating group of the header is listed: NoHops 627)
        8,
        9,
        10,
        34,
        35,
        43,
        49,
        50,
        52,
        56,
        57,
        97,
        115,
        116,
        122,
        128,
        129,
        142,
        143,
        144,
        145,
        1128,
        1129,
        # the ExecutionReport fields the OMS reads, and the plain ones brokers send beside them
        1,
        6,
        11,
        14,
        15,
        17,
        20,
        31,
        32,
        37,
        38,
        39,
        40,
        41,
        44,
        48,
        54,
        55,
        58,
        59,
        60,
        63,
        64,
        65,
        75,
        99,
        100,
        103,
        107,
        126,
        150,
        151,
        167,
        207,
        432,
        847,
        848,
        849,
    }
)
"""Tags that are never a repeating group's count or inside one in an ExecutionReport: a report made
of these only is a flat list of fields, read from one toString (engine.oms's hot path)."""


_PLAIN_REPORT_KEYS = frozenset(str(t) for t in _PLAIN_REPORT_TAGS)


def _flat_fields(m: fix.Message) -> dict[str, str] | None:
    """A flat message's fields by tag, from one toString (a SWIG call per field costs more than the
    split), or None when it has a tag outside _PLAIN_REPORT_TAGS (a group, a custom tag) or a tag
    twice: the caller then reads it field by field."""
    try:
        parts = m.toString().split("\x01")
    except Exception:  # a field QuickFIX cannot give as text: read the fields one by one
        return None
    if parts and parts[-1] == "":
        parts.pop()
    try:
        fields = dict(part.split("=", 1) for part in parts)
    except ValueError:  # a part without "="
        return None
    if len(fields) != len(parts) or not _PLAIN_REPORT_KEYS.issuperset(fields):
        return None
    return fields


def exec_report(m: fix.Message, broker: str, version: FixVersion = FIX44, **where: object) -> ExecReport:
    """An ExecutionReport (35=8) as an immutable engine message (ExecType as in FIX 4.4); `where`:
    its session_id and seq_num. A flat report (the usual ack or fill) is read from one toString,
    any other field by field; both give the same message (tests/connectors/fix/test_translate.py)."""
    flat = _flat_fields(m)
    if flat is not None and all(str(t) in flat for t in (T.EXEC_ID, T.EXEC_TYPE, T.ORD_STATUS)):
        get = lambda tag: flat.get(str(tag))  # noqa: E731
        head = get
    else:
        get = lambda tag: _get(m, tag)  # noqa: E731
        head = lambda tag: _get(m.getHeader(), tag)  # noqa: E731
        flat = None
    return _exec_report(get, head, m if flat is None else None, broker, version, where)


def _exec_report(
    get: Callable[[int], str | None],
    head: Callable[[int], str | None],
    m: fix.Message | None,
    broker: str,
    version: FixVersion,
    where: dict[str, object],
) -> ExecReport:
    """The ExecReport from a report's body fields (`get`) and header fields (`head`); `m`, when
    read field by field, raises QuickFIX's own FieldNotFound for a missing required field."""

    def required(tag: int) -> str:
        if m is not None:
            return str(m.getField(tag))
        value = get(tag)
        assert value is not None  # checked by the caller
        return value

    def dec(tag: int) -> Decimal:
        v = get(tag)
        return Decimal(v) if v not in (None, "") else Decimal(0)

    rej = get(T.ORD_REJ_REASON)
    tt = get(T.TRANSACT_TIME)
    oq = get(T.ORDER_QTY)
    return ExecReport(
        broker=broker,
        exec_id=required(T.EXEC_ID),
        exec_type=exec_type_44(version, required(T.EXEC_TYPE), get(EXEC_TRANS_TYPE)),
        ord_status=required(T.ORD_STATUS),
        cl_ord_id=get(T.CL_ORD_ID) or "",
        orig_cl_ord_id=get(T.ORIG_CL_ORD_ID),
        broker_order_id=get(T.ORDER_ID),
        symbol=get(T.SYMBOL) or "",
        side=T.SIDE_NAME.get(get(T.SIDE) or "", ""),
        order_qty=Decimal(oq) if oq else None,
        last_qty=dec(T.LAST_QTY),
        last_px=dec(T.LAST_PX),
        cum_qty=dec(T.CUM_QTY),
        leaves_qty=dec(T.LEAVES_QTY),
        avg_px=dec(T.AVG_PX),
        transact_time=parse_timestamp(tt) if tt else None,
        text=get(T.TEXT),
        ord_rej_reason=int(rej) if rej and rej.isdigit() else None,
        poss_dup=head(T.POSS_DUP) == "Y",
        poss_resend=head(T.POSS_RESEND) == "Y",
        **where,  # type: ignore[arg-type]
    )


def cancel_reject(m: fix.Message, broker: str) -> CancelReject:
    """An OrderCancelReject (35=9) as an immutable engine message."""
    reason = _get(m, T.CXL_REJ_REASON)
    return CancelReject(
        broker=broker,
        cl_ord_id=m.getField(T.CL_ORD_ID),
        orig_cl_ord_id=_get(m, T.ORIG_CL_ORD_ID),
        ord_status=m.getField(T.ORD_STATUS),
        response_to=_get(m, T.CXL_REJ_RESPONSE_TO) or "1",
        broker_order_id=_get(m, T.ORDER_ID),
        reason=int(reason) if reason and reason.isdigit() else None,
        text=_get(m, T.TEXT),
        poss_dup=_flag(m, T.POSS_DUP),
    )


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.lstrip("-").isdigit() else None


def alloc_ack(m: fix.Message, broker: str) -> AllocAck:
    """An AllocationInstructionAck (35=P), with the NoAllocs group's per-account reject codes."""
    accounts = []
    n = _int_or_none(_get(m, T.NO_ALLOCS)) or 0
    for i in range(1, n + 1):
        g = fix.Group(T.NO_ALLOCS, T.ALLOC_ACCOUNT)
        m.getGroup(i, g)
        accounts.append(
            (
                _get(g, T.ALLOC_ACCOUNT) or "",
                _int_or_none(_get(g, T.INDIVIDUAL_ALLOC_REJ_CODE)),
                _get(g, T.ALLOC_TEXT),
            )
        )
    return AllocAck(
        broker=broker,
        alloc_id=m.getField(T.ALLOC_ID),
        alloc_status=m.getField(T.ALLOC_STATUS),
        reject_code=_int_or_none(_get(m, T.ALLOC_REJ_CODE)),
        text=_get(m, T.TEXT),
        accounts=tuple(accounts),
        poss_dup=_flag(m, T.POSS_DUP),
    )


def alloc_report(m: fix.Message, broker: str) -> AllocReport:
    """An AllocationReport (35=AS) about one of our instructions."""
    return AllocReport(
        broker=broker,
        report_id=m.getField(T.ALLOC_REPORT_ID),
        alloc_id=_get(m, T.ALLOC_ID) or "",
        alloc_status=m.getField(T.ALLOC_STATUS),
        report_type=_get(m, T.ALLOC_REPORT_TYPE) or "",
        quantity=_dec(m, T.QUANTITY),
        avg_px=_dec(m, T.AVG_PX),
        reject_code=_int_or_none(_get(m, T.ALLOC_REJ_CODE)),
        text=_get(m, T.TEXT),
        poss_dup=_flag(m, T.POSS_DUP),
    )


def business_reject(m: fix.Message, broker: str, sent: dict[int, str] | None = None) -> BusinessReject:
    """A BusinessMessageReject (35=j). Without BusinessRejectRefID, the referenced AllocID is found
    by RefSeqNum in `sent` (MsgSeqNum -> AllocID of the J messages this session sent)."""
    ref_id = _get(m, T.BUSINESS_REJECT_REF_ID)
    if not ref_id and sent is not None:
        ref_id = sent.get(_int_or_none(_get(m, T.REF_SEQ_NUM)) or 0)
    return BusinessReject(
        broker=broker,
        ref_msg_type=_get(m, T.REF_MSG_TYPE) or "",
        ref_id=ref_id or "",
        reason=_int_or_none(_get(m, T.BUSINESS_REJECT_REASON)),
        text=_get(m, T.TEXT),
    )
