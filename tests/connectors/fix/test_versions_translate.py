"""Translation per FIX version both ways, checked against QuickFIX's own dictionaries (4.2, 4.4,
5.0 SP2 with FIXT.1.1), and the brokers' rules of engagement as data with their clear errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix

from connectors.fix.brokers import BrokerRuleError, load, rules_for, shipped
from connectors.fix.config import complete, initiator_settings
from connectors.fix.dictionary import InvalidFixMessage, validate
from connectors.fix.refusals import SentOrders, refusal
from connectors.fix.translate import alloc_ack, exec_report, to_fix
from connectors.fix.versions import FIX42, FIX44, FIX50SP2, VERSIONS, FixVersion, version
from engine.errors import ConfigurationError
from engine.oms.messages import (
    AllocInstruction,
    AllocLine,
    CancelOrder,
    CancelReject,
    ExecReport,
    NewOrder,
    ReplaceOrder,
)

ALL = [FIX42, FIX44, FIX50SP2]


def _new(**kw: object) -> NewOrder:
    base: dict[str, object] = dict(broker="X", cl_ord_id="C1", account="ACC1", symbol="AAPL", mic="XNAS",
                                   side="buy", quantity=Decimal(100), order_type="limit", time_in_force="day",
                                   limit_price=Decimal("101.5"), currency="USD")  # fmt: skip
    base.update(kw)
    return NewOrder(**base)  # type: ignore[arg-type]


def _alloc() -> AllocInstruction:
    return AllocInstruction(
        broker="X", alloc_id="A1", trans_type="new", cl_ord_ids=(("B1", "O1"),), side="buy", symbol="AAPL",
        mic="XNAS", quantity=Decimal(300), avg_px=Decimal("100.25"), currency="USD",
        trade_date=date(2026, 11, 23), settle_date=date(2026, 11, 24),
        lines=(AllocLine("ACC1", Decimal(100)), AllocLine("ACC2", Decimal(200))),
    )  # fmt: skip


def _fields(m: fix.Message) -> dict[int, str]:
    return {int(k): v for k, _, v in (f.partition("=") for f in m.toString().split("\x01") if "=" in f)}


@pytest.mark.parametrize("v", ALL, ids=lambda v: v.name)
def test_every_outbound_message_is_valid_in_its_version(v: FixVersion) -> None:
    messages = [
        _new(),
        _new(order_type="market_on_close", limit_price=None),
        _new(order_type="limit_on_close"),
        _new(order_type="stop", limit_price=None, stop_price=Decimal(120), time_in_force="gtc"),
        CancelOrder(broker="X", cl_ord_id="C2", orig_cl_ord_id="C1", symbol="AAPL", side="buy",
                    quantity=Decimal(100), broker_order_id="O1"),
        ReplaceOrder(broker="X", cl_ord_id="C3", orig_cl_ord_id="C1", symbol="AAPL", mic="XNAS", side="buy",
                     quantity=Decimal(50), order_type="limit", time_in_force="day", limit_price=Decimal(101),
                     currency="USD"),
        _alloc(),
    ]  # fmt: skip
    for out in messages:
        validate(to_fix(out, v), version=v)  # raises InvalidFixMessage naming the tag


def test_fix_42_on_close_and_allocation_forms() -> None:
    moc = _fields(to_fix(_new(order_type="market_on_close", limit_price=None), FIX42))
    loc = _fields(to_fix(_new(order_type="limit_on_close"), FIX42))
    assert (moc[40], moc[59], loc[40], loc[59], loc[44]) == ("5", "0", "B", "0", "101.5")
    assert (_fields(to_fix(_new(order_type="limit_on_close"), FIX44))[40],) == ("2",)
    j42, j44 = _fields(to_fix(_alloc(), FIX42)), _fields(to_fix(_alloc(), FIX44))
    assert 626 not in j42 and 857 not in j42 and (j44[626], j44[857]) == ("2", "1")
    assert (j42[53], j42[6], j42[75], j42[73]) == ("300", "100.25", "20261123", "1")


def test_a_strategy_is_not_fix_42_unless_the_broker_says_so() -> None:
    strat = _new(strategy="2", strategy_params=(("participation_rate", "0.2"),))
    with pytest.raises(InvalidFixMessage, match="847"):
        validate(to_fix(strat, FIX42), version=FIX42)
    validate(to_fix(strat, FIX50SP2), version=FIX50SP2)


def _report(begin: str, **tags: str) -> fix.Message:
    m = fix.Message()
    m.getHeader().setField(8, begin)
    m.getHeader().setField(35, "8")
    for k, v in {"37": "O1", "17": "E1", "39": "1", "11": "C1", "55": "AAPL", "54": "1", "151": "50",
                 "14": "50", "6": "100", "32": "50", "31": "100", **tags}.items():  # fmt: skip
        m.setField(int(k), v)
    return m


@pytest.mark.parametrize(
    ("v", "tags", "engine_type"),
    [
        (FIX42, {"150": "1", "20": "0"}, "F"),  # partial fill
        (FIX42, {"150": "2", "20": "0", "39": "2"}, "F"),  # fill
        (FIX42, {"150": "0", "20": "0", "39": "0"}, "0"),
        (FIX42, {"150": "4", "20": "0", "39": "4"}, "4"),
        (FIX42, {"150": "2", "20": "3", "39": "2"}, "I"),  # a status reply
        (FIX42, {"150": "2", "20": "1"}, "H"),  # a trade bust
        (FIX42, {"150": "2", "20": "2"}, "G"),  # a trade correction
        (FIX44, {"150": "F"}, "F"),
        (FIX50SP2, {"150": "F"}, "F"),
        (FIX50SP2, {"150": "5"}, "5"),
    ],
)
def test_inbound_exec_types_are_fix_44_for_the_engine(
    v: FixVersion, tags: dict[str, str], engine_type: str
) -> None:
    r = exec_report(_report(v.begin_string, **tags), "X", v)
    assert (r.exec_type, r.last_qty, r.cum_qty, r.leaves_qty) == (engine_type, 50, 50, 50)


def test_a_fix_42_allocation_ack_reads_as_44() -> None:
    p = fix.Message()
    p.getHeader().setField(35, "P")
    for tag, value in ((70, "A1"), (75, "20261123"), (87, "1"), (88, "1"), (58, "qty")):
        p.setField(tag, value)
    ack = alloc_ack(p, "X")
    assert (ack.alloc_id, ack.alloc_status, ack.reject_code, ack.text, ack.accounts) == (
        "A1",
        "1",
        1,
        "qty",
        (),
    )


def test_the_shipped_brokers_and_their_rules(tmp_path: Path) -> None:
    b = shipped()
    assert {k: r.version.name for k, r in b.items()} == {
        "SIM": "FIX.4.4",
        "SIM42": "FIX.4.2",
        "SIM50": "FIX.5.0SP2",
    }
    sim42 = rules_for("SIM42")
    assert sim42 is not None
    m = to_fix(_new(), FIX42)
    sim42.apply(m, "D")
    assert (_fields(m)[1], _fields(m)[5001]) == ("ACC1", "WSDESK")
    block = to_fix(_new(account=None), FIX42)  # a block names no account: the broker's default one
    sim42.apply(block, "D")
    assert _fields(block)[1] == "WSAVG"
    with pytest.raises(InvalidFixMessage):  # 5001 is not in QuickFIX's own FIX 4.2 dictionary
        validate(m, version=FIX42)
    # A broker that wants an Account on every order and has no default for one
    strict = load(
        _csv(tmp_path / "b.csv", "broker,fix_version,dictionary\nB,FIX.4.2,\n"),
        _csv(tmp_path / "t.csv", "broker,message,tag,name,type,value,required\nB,D,1,,,,Y\n"),
    )["B"]
    with pytest.raises(
        BrokerRuleError, match=r"broker B \(FIX.4.2\) needs Account \(1\) on every NewOrderSingle"
    ):
        strict.apply(to_fix(_new(account=None), FIX42), "D")


def test_a_broker_dictionary_adds_its_tags(tmp_path: Path) -> None:
    sim42 = rules_for("SIM42")
    assert sim42 is not None
    path = sim42.dictionary_file(tmp_path)
    m = to_fix(_new(strategy="2", strategy_params=(("participation_rate", "0.2"),)), FIX42)
    sim42.apply(m, "D")
    validate(m, version=FIX42, app_dictionary=path)  # 5001 and the strategy tags are the broker's
    m.removeField(1)
    with pytest.raises(InvalidFixMessage, match="Required tag missing: 1"):
        validate(m, version=FIX42, app_dictionary=path)


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("brokers", "tags", "error"),
    [
        ("B,FIX.4.3,\n", "", r"brokers.csv row 2: broker B: field fix_version: 'FIX.4.3' is not"),
        ("B,FIX.4.2,missing.xml\n", "", r"row 2: broker B: field dictionary: .*missing.xml not found"),
        ("B,FIX.4.2,\nB,FIX.4.4,\n", "", r"row 3: broker B: field broker: listed twice"),
        (
            "B,FIX.4.2,\n",
            "C,D,1,Account,,,Y\n",
            r"tags.csv row 2: broker 'C': field broker: not in brokers.csv",
        ),
        ("B,FIX.4.2,\n", "B,X,1,Account,,,Y\n", r"row 2: broker B: field message: 'X' is not one of"),
        ("B,FIX.4.2,\n", "B,D,abc,Account,,,Y\n", r"row 2: broker B: field tag: 'abc' is not a positive"),
        ("B,FIX.4.2,\n", "B,D,1,Acct,,,Y\n", r"field name: tag 1 is Account in FIX.4.2, not Acct"),
        ("B,FIX.4.2,\n", "B,D,5001,,STRING,x,Y\n", r"field name: tag 5001 is not in FIX.4.2: name it"),
        ("B,FIX.4.2,\n", "B,D,5001,Mine,TEXTY,x,Y\n", r"field type: 'TEXTY' is not one of"),
        ("B,FIX.4.2,\n", "B,D,5001,Mine,STRING,,Y\n", r"field value: custom tag 5001 is required but has no"),
        ("B,FIX.4.2,\n", "B,D,5001,Mine,STRING,x,maybe\n", r"field required: 'MAYBE' is not Y or N"),
        ("B,FIX.4.2,\n", "B,D,1,,,,Y\nB,D,1,,,,N\n", r"row 3: broker B: field tag: 1 listed twice for D"),
    ],
)
def test_bad_broker_definitions_name_row_broker_field_and_reason(
    tmp_path: Path, brokers: str, tags: str, error: str
) -> None:
    b = _csv(tmp_path / "brokers.csv", "broker,fix_version,dictionary,description\n" + brokers)
    t = _csv(tmp_path / "tags.csv", "broker,message,tag,name,type,value,required\n" + tags)
    with pytest.raises(ConfigurationError, match=error):
        load(b, t)


def test_versions_by_name() -> None:
    assert sorted(VERSIONS) == ["FIX.4.2", "FIX.4.4", "FIX.5.0SP2"]
    assert version("FIXT.1.1") is FIX50SP2
    with pytest.raises(ConfigurationError, match=r"'FIX.4.1' is not a FIX version we speak"):
        version("FIX.4.1")


def test_settings_per_version_and_a_session_against_its_broker(tmp_path: Path) -> None:
    text = initiator_settings(
        "127.0.0.1", 9, "WS", ["SIM42", "SIM50", "OTHER"], tmp_path, {"OTHER": "FIX.4.2"}
    )
    sections = text.split("[SESSION]")[1:]
    assert "BeginString=FIX.4.2" in sections[0] and "SIM42-FIX.4.2.xml" in sections[0]
    fixt = ("BeginString=FIXT.1.1", "DefaultApplVerID=FIX.5.0SP2", "FIXT11.xml", "AppDataDictionary=")
    assert all(x in sections[1] for x in fixt)
    assert "BeginString=FIX.4.2" in sections[2] and "FIX42.xml" in sections[2]
    with pytest.raises(ConfigurationError, match=r"broker SIM42 speaks FIX.4.2 .*not FIX.4.4"):
        initiator_settings("127.0.0.1", 9, "WS", ["SIM42"], tmp_path, {"SIM42": "FIX.4.4"})
    # A user's settings file: each session gets its version's dictionaries where it names none.
    cfg = _csv(tmp_path / "user.cfg", "[DEFAULT]\nConnectionType=initiator\n\n[SESSION]\nBeginString=FIXT.1.1\n"
               "SenderCompID=WS\nTargetCompID=ANY\n\n[SESSION]\nBeginString=FIX.4.2\nSenderCompID=WS\n"
               "TargetCompID=SIM42\n")  # fmt: skip
    done = complete(cfg, tmp_path).split("[SESSION]")
    assert "AppDataDictionary=" in done[1] and "DefaultApplVerID=FIX.5.0SP2" in done[1]
    assert "SIM42-FIX.4.2.xml" in done[2]
    bad = _csv(tmp_path / "bad.cfg", "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=WS\nTargetCompID=SIM50\n")
    with pytest.raises(ConfigurationError, match=r"bad.cfg: \[SESSION\] 1 .*broker SIM50 speaks FIX.5.0SP2"):
        complete(bad, tmp_path)


def test_a_refused_order_message_is_a_rejection_or_a_cancel_reject() -> None:
    sent = SentOrders()
    sent.note("B", 7, to_fix(_new(cl_ord_id="C7"), FIX42), "D")
    cancel = CancelOrder(broker="B", cl_ord_id="C8", orig_cl_ord_id="C7", symbol="AAPL", side="buy",
                         quantity=Decimal(100))  # fmt: skip
    sent.note("B", 8, to_fix(cancel, FIX42), "F")

    def reject(kind: str, seq: str) -> fix.Message:
        m = fix.Message()
        m.getHeader().setField(35, kind)
        m.setField(45, seq)
        m.setField(58, "Unsupported message type")
        return m

    d = refusal(reject("3", "7"), "B", "FIX.4.2:WS->B", sent)
    assert isinstance(d, ExecReport)
    assert (d.exec_type, d.ord_status, d.cl_ord_id, d.exec_id) == ("8", "8", "C7", "FIX.4.2:WS->B:refused:7")
    assert d.text == "B refused it (session Reject): Unsupported message type"
    f = refusal(reject("j", "8"), "B", "FIX.4.2:WS->B", sent)
    assert isinstance(f, CancelReject)
    assert (f.cl_ord_id, f.orig_cl_ord_id, f.response_to) == ("C8", "C7", "1")
    assert refusal(reject("3", "9"), "B", "FIX.4.2:WS->B", sent) is None  # not an order message of ours
