"""The SIMULATED broker's ExecutionReports, written as one tag=value string: every field it set one
by one before, in each version (FIX 4.2's ExecType and ExecTransType), and a NewOrderSingle read
in one call."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import quickfix as fix

from connectors.broker_sim.orders import SimOrder, fields
from connectors.broker_sim.reports import Fill, execution_report
from connectors.fix import tags as T
from connectors.fix.dialect import EXEC_TRANS_TYPE

NOW = datetime(2026, 12, 7, 15, 30, 1, 250000, tzinfo=UTC)


def order(begin: str = "FIX.4.4", **kw: object) -> SimOrder:
    terms: dict[str, object] = dict(
        cl_ord_id="C1", order_id="S1-O1", sid=fix.SessionID(begin, "SIM", "WS"), symbol="AAPL",
        mic="XNAS", side="1", qty=Decimal(300), order_type="2", limit=Decimal("100.50"), tif="0",
        ref_px=Decimal(100),
    )  # fmt: skip
    terms.update(kw)
    return SimOrder(**terms)  # type: ignore[arg-type]


def body(m: fix.Message) -> dict[int, str]:
    return fields(fix.Message(m.toString(), False))


def test_a_partial_fill_in_fix44_carries_every_field() -> None:
    o = order(cum=Decimal(100), notional=Decimal("10025"), status="1", fills=1)
    f = body(execution_report(o, "F", "S1-7", NOW, fill=Fill(Decimal(100), Decimal("100.25"))))
    assert f[T.MSG_TYPE] == "8"
    assert (f[T.ORDER_ID], f[T.CL_ORD_ID], f[T.EXEC_ID]) == ("S1-O1", "C1", "S1-7")
    assert (f[T.EXEC_TYPE], f[T.ORD_STATUS]) == ("F", "1")
    assert (f[T.SYMBOL], f[T.SIDE], f[T.ORDER_QTY], f[T.ORD_TYPE], f[T.PRICE], f[T.TIME_IN_FORCE]) == (
        "AAPL", "1", "300", "2", "100.50", "0",
    )  # fmt: skip
    assert (f[T.LAST_QTY], f[T.LAST_PX]) == ("100", "100.25")
    assert (f[T.LEAVES_QTY], f[T.CUM_QTY], f[T.AVG_PX]) == ("200", "100", "100.250000")
    assert f[T.TRANSACT_TIME] == "20261207-15:30:01.250"
    for absent in (EXEC_TRANS_TYPE, T.ORIG_CL_ORD_ID, T.ORD_REJ_REASON, T.TEXT, T.STOP_PX, T.CURRENCY):
        assert absent not in f


def test_fix42_fill_and_status_reply_use_its_exec_types() -> None:
    done = order("FIX.4.2", cum=Decimal(300), notional=Decimal("30000"), status="2")
    f = body(execution_report(done, "F", "E2", NOW, fill=Fill(Decimal(200), Decimal(100))))
    assert (f[T.EXEC_TYPE], f[EXEC_TRANS_TYPE], f[T.LEAVES_QTY], f[T.AVG_PX]) == ("2", "0", "0", "100.000000")
    status = body(execution_report(order("FIX.4.2", status="0"), "I", "E3", NOW))
    assert (status[T.EXEC_TYPE], status[EXEC_TRANS_TYPE]) == ("0", "3")


def test_reject_replace_fx_stop_and_expiry_fields() -> None:
    rej = body(execution_report(order(status="8"), "8", "E4", NOW, text="unknown symbol AAPL", rej=1))
    assert (rej[T.ORD_REJ_REASON], rej[T.TEXT], rej[T.LEAVES_QTY]) == ("1", "unknown symbol AAPL", "0")
    rep = body(execution_report(order(status="0"), "5", "E5", NOW, cl="C2", orig="C1"))
    assert (rep[T.CL_ORD_ID], rep[T.ORIG_CL_ORD_ID]) == ("C2", "C1")
    fx = order(symbol="EURUSD", fx=True, limit=None, order_type="1", stop=Decimal("1.08"),
               expire_at=NOW.timestamp(), status="0")  # fmt: skip
    f = body(execution_report(fx, "0", "E6", NOW))
    assert (f[T.SECURITY_TYPE], f[T.CURRENCY], f[T.SETTL_TYPE]) == ("FOR", "EUR", "0")
    assert (f[T.STOP_PX], f[T.EXPIRE_TIME]) == ("1.08", "20261207-15:30:01.250")
    assert T.PRICE not in f


def test_fields_reads_header_and_body_tags() -> None:
    m = fix.Message()
    m.getHeader().setField(T.MSG_TYPE, "D")
    m.getHeader().setField(T.POSS_DUP, "Y")
    m.setField(T.CL_ORD_ID, "C9")
    m.setField(T.TEXT, "a=b")
    f = fields(m)
    assert (f[T.MSG_TYPE], f[T.POSS_DUP], f[T.CL_ORD_ID], f[T.TEXT]) == ("D", "Y", "C9", "a=b")
    assert T.SYMBOL not in f
