"""The ExecutionReport read from one toString (the hot path) gives the very message the field-by-field
read gives, for every shape of report: flat ones, ones with groups or custom tags (which go field by
field), every version's ExecType, odd timestamps, missing fields; and timestamps parse as strptime."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest
import quickfix as fix

from connectors.fix import translate
from connectors.fix.translate import exec_report, parse_timestamp
from connectors.fix.versions import FIX42, FIX44, FIX50SP2, FixVersion

BASE = {
    "37": "B1", "11": "C1", "17": "E9", "150": "F", "39": "1", "55": "AAPL", "54": "2", "38": "100",
    "32": "40", "31": "10.25", "14": "40", "151": "60", "6": "10.25", "60": "20261123-15:00:01.250",
}  # fmt: skip
OPTIONAL = {
    "41": "C0", "58": "partly filled – ünïcode", "103": "5", "20": "0", "40": "2", "44": "10.5",
    "59": "0", "15": "USD", "167": "FOR", "1": "ACC1", "126": "20261124-21:00:00", "432": "20261124",
    "847": "1", "848": "x=y", "849": "0.2", "99": "9.5", "75": "20261123", "63": "0",
}  # fmt: skip
TIMES = [
    "20261123-15:00:01.250", "20261123-15:00:01", "20261123-15:00:01.250123", "20261123-15:00:01.2",
    "20261323-15:00:01.250", "20260230-15:00:01.250", "20261123-24:00:01.250", "20261123-15:00:60.250",
    "2026112x-15:00:01.250", "20261123 15:00:01.250", "garbage", "", "20261123-15:00:01.25٣",
]  # fmt: skip


def _message(
    body: dict[str, str], header: dict[str, str], groups: int = 0, custom: bool = False
) -> fix.Message:
    m = fix.Message()
    h = m.getHeader()
    h.setField(35, "8")
    for k, v in header.items():
        h.setField(int(k), v)
    for k, v in body.items():
        m.setField(int(k), v)
    for i in range(groups):  # Parties (NoPartyIDs 453): a repeating group
        g = fix.Group(453, 448)
        g.setField(448, f"P{i}")
        g.setField(447, "D")
        g.setField(452, "1")
        m.addGroup(g)
    if custom:
        m.setField(9001, "custom")
    return m


def _both(m: fix.Message, version: FixVersion, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """(the fast read, the field-by-field read) of `m`, each an ExecReport or the exception raised."""
    out = []
    for flat in (True, False):
        with monkeypatch.context() as mp:
            if not flat:
                mp.setattr(translate, "_flat_fields", lambda _m: None)
            try:
                r = exec_report(m, "SIM", version, session_id="S", seq_num=7)
                out.append(dataclasses.replace(r, received_at=datetime(2026, 1, 1, tzinfo=UTC)))
            except Exception as exc:
                out.append(type(exc))
    return out[0], out[1]


def test_flat_and_field_by_field_reads_agree_on_many_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(17)
    flat_seen = slow_seen = 0
    for n in range(600):
        body = dict(BASE)
        for k, v in OPTIONAL.items():
            if rng.random() < 0.4:
                body[k] = v
        for k in list(body):  # sometimes a field is missing, required ones too
            if rng.random() < 0.04:
                del body[k]
        body["60"] = rng.choice(TIMES) if rng.random() < 0.5 else body.get("60", TIMES[0])
        if not body["60"]:
            del body["60"]
        body["150"] = rng.choice(["0", "1", "2", "4", "F", "I", "5", "8"])
        header = {}
        if rng.random() < 0.3:
            header["43"] = rng.choice(["Y", "N"])
        if rng.random() < 0.2:
            header["97"] = rng.choice(["Y", "N"])
        version = rng.choice([FIX42, FIX44, FIX50SP2])
        m = _message(body, header, groups=rng.choice([0, 0, 0, 2]), custom=rng.random() < 0.1)
        fast, slow = _both(m, version, monkeypatch)
        assert fast == slow, (n, m.toString().replace("\x01", "|"))
        if translate._flat_fields(m) is not None:
            flat_seen += 1
        else:
            slow_seen += 1
    assert flat_seen > 300 and slow_seen > 50  # both paths were compared


def test_a_report_from_the_wire_goes_the_flat_way_and_groups_do_not() -> None:
    m = fix.Message("8=FIX.4.4\x019=10\x0135=8\x0134=2\x0149=SIM\x0152=20261207-23:00:00.123\x0156=WS\x01"
                    "17=E1\x01150=0\x0139=0\x0111=C1\x0110=000\x01", False)  # fmt: skip
    assert translate._flat_fields(m) is not None
    assert exec_report(m, "SIM").cl_ord_id == "C1"
    assert translate._flat_fields(_message(BASE, {}, groups=1)) is None
    assert translate._flat_fields(_message(BASE, {}, custom=True)) is None


def test_timestamps_parse_as_strptime_does() -> None:
    rng = random.Random(3)
    samples = list(TIMES)
    for _ in range(3000):
        d = datetime(2000, 1, 1, tzinfo=UTC).timestamp() + rng.random() * 40 * 365 * 86400
        t = datetime.fromtimestamp(d, UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]
        i = rng.randrange(len(t))  # and one character changed now and then
        samples.append(t if rng.random() < 0.7 else t[:i] + rng.choice("0123456789-:. x") + t[i + 1 :])
    for t in samples:
        expected = None
        for fmt in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
            try:
                expected = datetime.strptime(t, fmt).replace(tzinfo=UTC)
                break
            except ValueError:
                continue
        assert parse_timestamp(t) == expected, t


def test_a_new_order_written_as_one_string_is_the_message_set_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every NewOrderSingle shape (order types, times in force, FX, strategies, accounts, odd
    values), in every version: the same toString as the fields set one by one, and valid."""
    from decimal import Decimal

    from connectors.fix import tags as T
    from connectors.fix.dictionary import validate
    from connectors.fix.translate import to_fix
    from engine.oms.messages import NewOrder

    monkeypatch.setattr(translate, "utc_timestamp", lambda at=None: "20261207-23:00:00.123" if at is None
                        else at.strftime("%Y%m%d-%H:%M:%S.%f")[:-3])  # fmt: skip
    one_by_one = translate._Fields.message

    def by_field(self: translate._Fields, msg_type: str) -> fix.Message:
        m = translate._message(msg_type)
        for t, v in self.fields.items():
            m.setField(t, v)
        return m

    rng = random.Random(5)
    types = list(T.ORD_TYPE_CODE) + list(T.ON_CLOSE_WIRE)
    for n in range(400):
        fx = rng.random() < 0.2
        strategy = rng.choice([None, "1", "2"])
        params: tuple[tuple[str, str], ...] = ()
        if strategy == "2":
            params = (("participation_rate", rng.choice(["0.1", "0.25"])),)
        elif strategy and rng.random() < 0.5:
            params = (("start", "09:30"), ("x", "a=b"))
        o = NewOrder(
            "SIM", f"WS-{n}-{rng.randrange(10**6)}", "EURUSD" if fx else rng.choice(["AAPL", "VOD.L", "BRK/B"]),
            "XOFF" if fx else rng.choice(["XNAS", "XLON"]), rng.choice(["buy", "sell"]),
            Decimal(rng.choice(["100", "2.5", "0.000001", "1E+3", "12345678.90"])), rng.choice(types),
            rng.choice(["day", "gtc", "ioc", "fok", "gtd"]), rng.choice(["USD", "GBP"]),
            rng.choice([None, Decimal("10.5"), Decimal("0.0001"), Decimal("1E+2")]),
            rng.choice([None, "", "ACC1", "B/1 ü"]), rng.choice([None, Decimal("9.75")]),
            rng.choice([None, datetime(2026, 12, 31, 21, tzinfo=UTC)]), strategy, params,
        )  # fmt: skip
        for version in (FIX42, FIX44, FIX50SP2):
            fast = to_fix(o, version)
            with monkeypatch.context() as mp:
                mp.setattr(translate._Fields, "message", by_field)
                slow = to_fix(o, version)
            assert fast.toString() == slow.toString(), (n, version.name)
            assert fast.getHeader().getField(35) == "D"
            if version is FIX44:
                validate(fast, target="SIM", version=version)
    assert translate._Fields.message is one_by_one


def test_a_report_or_order_quickfix_cannot_give_as_text_goes_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If toString or the one-string parse fails, the old field-by-field path answers instead."""
    from decimal import Decimal

    from connectors.fix.translate import to_fix
    from engine.oms.messages import NewOrder

    m = _message(BASE, {})
    expected = exec_report(m, "SIM")

    class Broken(fix.Message):  # type: ignore[misc]
        def toString(self, *a: object) -> str:
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    b = Broken(m)
    got = exec_report(b, "SIM")
    assert dataclasses.replace(got, received_at=expected.received_at) == expected
    o = NewOrder("SIM", "C1", "AAPL", "XNAS", "buy", Decimal(100), "market", "day", "USD")
    want = to_fix(o).getField(11)

    def refuse(*a: object) -> fix.Message:
        if len(a) == 2:
            raise fix.InvalidMessage("refused")
        return real()

    real = fix.Message
    monkeypatch.setattr(translate.fix, "Message", refuse)
    assert to_fix(o).getField(11) == want
