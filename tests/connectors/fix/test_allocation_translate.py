"""The allocation messages against QuickFIX's FIX 4.4 data dictionary: J as we build it validates
(New and Replace), P and AS as a broker sends them are read with their groups, and a
BusinessMessageReject without BusinessRejectRefID is matched to our J by RefSeqNum."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import quickfix as fix

from connectors.fix import tags as T
from connectors.fix.dictionary import InvalidFixMessage, validate
from connectors.fix.translate import alloc_ack, alloc_report, business_reject, to_fix
from engine.oms.messages import AllocInstruction, AllocLine


def j(**kw: object) -> AllocInstruction:
    base: dict[str, object] = dict(
        broker="SIM", alloc_id="AL-1", trans_type="new", side="sell", symbol="VOD.L", mic="XLON",
        quantity=Decimal("1500"), avg_px=Decimal("72.345678"), currency="GBP", trade_date=date(2026, 11, 23),
        settle_date=date(2026, 11, 25), cl_ord_ids=(("BK-1", "O-9"),),
        lines=(AllocLine("ACC1", Decimal(300)), AllocLine("C-2002", Decimal(1200))),
    )  # fmt: skip
    base.update(kw)
    return AllocInstruction(**base)  # type: ignore[arg-type]


def fields(m: fix.Message) -> str:
    return m.toString().replace("\x01", "|")


def test_j_new_and_replace_validate_against_the_dictionary() -> None:
    new = to_fix(j())
    validate(new)
    text = fields(new)
    for part in ("35=J", "70=AL-1", "71=0", "626=2", "857=1", "73=1|11=BK-1|37=O-9", "54=2", "55=VOD.L",
                 "207=XLON", "53=1500", "6=72.345678", "15=GBP", "75=20261123", "64=20261125",
                 "78=2|79=ACC1|80=300|79=C-2002|80=1200"):  # fmt: skip
        assert part in text, part
    assert "72=" not in text
    replace = to_fix(j(alloc_id="AL-2", trans_type="replace", ref_alloc_id="AL-1"))
    validate(replace)
    assert "|71=1|72=AL-1|" in fields(replace)


def test_a_j_without_its_required_fields_fails_the_dictionary() -> None:
    m = to_fix(j())
    m.removeField(T.ALLOC_TYPE)
    with pytest.raises(InvalidFixMessage):
        validate(m)


def _p(status: str) -> fix.Message:
    p = fix.Message()
    p.getHeader().setField(T.MSG_TYPE, "P")
    p.setField(T.ALLOC_ID, "AL-1")
    p.setField(T.TRANSACT_TIME, "20261123-15:00:01.000")
    p.setField(T.ALLOC_STATUS, status)
    return p


def test_ack_with_account_level_rejects_is_read_and_valid() -> None:
    p = _p("2")
    p.setField(T.ALLOC_REJ_CODE, "0")
    p.setField(T.TEXT, "unknown account(s): C-2002")
    g = fix.Group(T.NO_ALLOCS, T.ALLOC_ACCOUNT)
    g.setField(T.ALLOC_ACCOUNT, "C-2002")
    g.setField(T.INDIVIDUAL_ALLOC_REJ_CODE, "0")
    g.setField(T.ALLOC_TEXT, "unknown account")
    p.addGroup(g)
    validate(p)
    a = alloc_ack(p, "SIM")
    assert (a.alloc_id, a.alloc_status, a.reject_code, a.text) == (
        "AL-1",
        "2",
        0,
        "unknown account(s): C-2002",
    )
    assert a.accounts == (("C-2002", 0, "unknown account"),)
    assert alloc_ack(_p("3"), "SIM").accounts == ()


def test_report_is_read() -> None:
    r = fix.Message()
    r.getHeader().setField(T.MSG_TYPE, "AS")
    for tag, v in ((T.ALLOC_REPORT_ID, "R-7"), (T.ALLOC_ID, "AL-1"), (T.ALLOC_TRANS_TYPE, "0"),
                   (T.ALLOC_REPORT_TYPE, "3"), (T.ALLOC_STATUS, "0"), (T.ALLOC_NO_ORDERS_TYPE, "1"),
                   (T.SIDE, "2"), (T.SYMBOL, "VOD.L"), (T.QUANTITY, "1500"), (T.AVG_PX, "72.345678"),
                   (T.TRADE_DATE, "20261123")):  # fmt: skip
        r.setField(tag, v)
    validate(r)
    a = alloc_report(r, "SIM")
    assert (a.report_id, a.alloc_id, a.alloc_status, a.report_type) == ("R-7", "AL-1", "0", "3")
    assert (a.quantity, a.avg_px) == (Decimal(1500), Decimal("72.345678"))


def test_business_reject_is_matched_by_ref_seq_num() -> None:
    b = fix.Message()
    b.getHeader().setField(T.MSG_TYPE, "j")
    b.setField(T.REF_SEQ_NUM, "42")
    b.setField(T.REF_MSG_TYPE, "J")
    b.setField(T.BUSINESS_REJECT_REASON, "3")
    b.setField(T.TEXT, "Unsupported Message Type")
    m = business_reject(b, "SIM", {41: "AL-0", 42: "AL-1"})
    assert (m.ref_msg_type, m.ref_id, m.reason) == ("J", "AL-1", 3)
    b.setField(T.BUSINESS_REJECT_REF_ID, "AL-9")
    assert business_reject(b, "SIM", {42: "AL-1"}).ref_id == "AL-9"
